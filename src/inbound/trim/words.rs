//! The words mail clients write around quoted history, per language: what `trim` looks
//! for. Built-in languages (SPEC §8): English, German, French, Spanish, Portuguese,
//! Japanese; Dutch as well, as replies came in Dutch before. Every entry is lower case
//! (Japanese has no case) and compared after [`super::fold`]: whitespace of any kind
//! (Gmail's French writes a narrow no-break space before ":") is one space and a
//! full-width colon is ":".
//!
//! Where each comes from (written by hand from how the clients write them):
//! Gmail, Apple Mail, Thunderbird and Outlook (desktop, web, mobile) in each language.

/// First word of a date-first quote header ("On …", "Am …", "Le …", "El …", "Em …",
/// "Op …"), with its space.
pub(super) const QUOTE_HEADER_OPENINGS: &[&str] = &["on ", "am ", "le ", "el ", "em ", "op "];

/// The verb of a quote header, with a leading space so it matches as a word:
/// "wrote" (en), "schrieb" (de; Yahoo's "hat … Folgendes geschrieben"), "a écrit" (fr),
/// "escribió" (es), "escreveu" (pt), "schreef" / "het volgende geschreven" (nl).
pub(super) const QUOTE_HEADER_VERBS: &[&str] = &[
    " wrote",
    " schrieb",
    " folgendes geschrieben",
    " a écrit",
    " escribió",
    " escreveu",
    " schreef",
    " het volgende geschreven",
];

/// How a Japanese quote header ends, before its colon: Thunderbird and old Gmail
/// ("… に X さんは書きました:"), Yahoo! and Gmail ("… のメッセージ:"), Apple Mail
/// ("2027/01/26 10:00、X <x@example.org>のメール:").
pub(super) const JAPANESE_QUOTE_ENDINGS: &[&str] =
    &["さんは書きました", "書きました", "のメッセージ", "のメール"];

/// Name-first quote headers without a date, only trusted when a quote follows:
/// "Grace Hopper <g@x> wrote:", "X さんは書きました:". Matched at the end, before the
/// colon.
pub(super) const NAME_FIRST_ENDINGS: &[&str] = &[
    " wrote",
    " schrieb",
    " a écrit",
    " escribió",
    " escreveu",
    " schreef",
    " het volgende geschreven",
    "さんは書きました",
    "のメッセージ",
];

/// Name-first quote headers with the date after the verb (Gmail's older German
/// "X <x@y> schrieb am Di., 26. Jan. 2027 um 10:00 Uhr:"), only trusted when a quote
/// follows.
pub(super) const NAME_FIRST_DATED: &[&str] = &[" schrieb am ", " wrote on "];

/// The words inside "-----Original Message-----" style markers (Outlook, Thunderbird's
/// "-------- Message d'origine --------", Gmail's "---------- Forwarded message
/// ---------"), in every language.
pub(super) const ORIGINAL_MARKERS: &[&str] = &[
    "original message",
    "forwarded message",
    "reply message",
    "ursprüngliche nachricht",
    "originalnachricht",
    "weitergeleitete nachricht",
    "message d'origine",
    "message d’origine",
    "message transféré",
    "mensaje original",
    "mensaje reenviado",
    "mensagem original",
    "mensagem encaminhada",
    "mensagem reencaminhada",
    "元のメッセージ",
    "転送メッセージ",
    "転送されたメッセージ",
    "oorspronkelijk bericht",
    "doorgestuurd bericht",
];

/// Apple Mail's forward marker lines, whole.
pub(super) const FORWARD_LINES: &[&str] = &[
    "begin forwarded message:",
    "anfang der weitergeleiteten nachricht:",
    "début du message réexpédié :",
    "début du message réexpédié:",
    "inicio del mensaje reenviado:",
    "início da mensagem reencaminhada:",
    "começo da mensagem encaminhada:",
    "転送されたメッセージ:",
    "begin doorgestuurd bericht:",
];

/// What a header line of an embedded mail says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Role {
    /// From: — opens Outlook's header block.
    From,
    /// Sent: / Date: — when; its value has digits.
    Date,
    /// To: / Subject: — whom and what.
    Addressed,
    /// Cc:, Bcc:, Reply-To:, Importance:, Attachments:.
    Other,
}

/// Header keys of the mail clients' embedded header blocks, by role.
/// Outlook desktop and web: en From/Sent/To/Cc/Subject; de Von/Gesendet/An/Cc/Betreff;
/// fr De/Envoyé/À/Cc/Objet; es De/Enviado/Para/CC/Asunto (web: "Enviado el");
/// pt De/Enviada em (pt-BR desktop) or Enviado/Para/Cc/Assunto; ja 差出人/送信日時/宛先/
/// CC/件名; nl Van/Verzonden/Aan/Onderwerp. Apple Mail and Gmail forwards: Date/Datum/
/// Data/Fecha/日付, and mixes of localised and English keys.
pub(super) const HEADER_KEYS: &[(&str, Role)] = &[
    ("from", Role::From),
    ("von", Role::From),
    ("de", Role::From),
    ("expéditeur", Role::From),
    ("remitente", Role::From),
    ("remetente", Role::From),
    ("差出人", Role::From),
    ("送信者", Role::From),
    ("van", Role::From),
    ("sent", Role::Date),
    ("date", Role::Date),
    ("gesendet", Role::Date),
    ("datum", Role::Date),
    ("envoyé", Role::Date),
    ("enviado", Role::Date),
    ("enviado el", Role::Date),
    ("enviado em", Role::Date),
    ("enviada", Role::Date),
    ("enviada em", Role::Date),
    ("fecha", Role::Date),
    ("data", Role::Date),
    ("送信日時", Role::Date),
    ("日付", Role::Date),
    ("日時", Role::Date),
    ("verzonden", Role::Date),
    ("to", Role::Addressed),
    ("an", Role::Addressed),
    ("à", Role::Addressed),
    ("destinataire", Role::Addressed),
    ("para", Role::Addressed),
    ("宛先", Role::Addressed),
    ("aan", Role::Addressed),
    ("subject", Role::Addressed),
    ("betreff", Role::Addressed),
    ("objet", Role::Addressed),
    ("asunto", Role::Addressed),
    ("assunto", Role::Addressed),
    ("件名", Role::Addressed),
    ("onderwerp", Role::Addressed),
    ("cc", Role::Other),
    ("bcc", Role::Other),
    ("kopie", Role::Other),
    ("cci", Role::Other),
    ("cco", Role::Other),
    ("reply-to", Role::Other),
    ("antwort an", Role::Other),
    ("répondre à", Role::Other),
    ("responder a", Role::Other),
    ("返信先", Role::Other),
    ("importance", Role::Other),
    ("wichtigkeit", Role::Other),
    ("importancia", Role::Other),
    ("importância", Role::Other),
    ("重要度", Role::Other),
    ("attachments", Role::Other),
    ("anlagen", Role::Other),
    ("pièces jointes", Role::Other),
    ("datos adjuntos", Role::Other),
    ("anexos", Role::Other),
    ("添付ファイル", Role::Other),
];

/// Mobile clients' signatures that name the device after these words: "Sent from my
/// iPhone", "Gesendet von meinem iPad", "Envoyé de mon iPhone", "Enviado desde mi
/// iPhone", "Enviado do meu iPhone". The rest of the line must be a few words.
pub(super) const SIGNATURE_PREFIXES: &[&str] = &[
    "sent from my ",
    "sent from outlook",
    "sent from mail for windows",
    "sent from yahoo mail",
    "sent via ",
    "gesendet von meinem ",
    "gesendet von outlook",
    "gesendet von mail für windows",
    "gesendet mit der ",
    "envoyé de mon ",
    "envoyé depuis mon ",
    "envoyé à partir de mon ",
    "envoyé depuis outlook",
    "envoyé depuis yahoo mail",
    "enviado desde mi ",
    "enviado desde outlook",
    "enviado desde yahoo mail",
    "enviado do meu ",
    "enviado de meu ",
    "enviado a partir do meu ",
    "enviado do outlook",
    "enviado do yahoo mail",
    "verzonden vanaf mijn ",
    "verstuurd vanaf mijn ",
];

/// Signatures with the device in the middle: (start, end) — "Von meinem iPhone
/// gesendet", Japanese "iPhoneから送信" (start empty: the device comes first).
pub(super) const SIGNATURE_FRAMES: &[(&str, &str)] = &[
    ("von meinem ", " gesendet"),
    ("", "から送信"),
    ("", "から送信しました"),
];

/// Outlook mobile's line "Get Outlook for iOS" in each language, before "ios" or
/// "android".
pub(super) const OUTLOOK_MOBILE: &[&str] = &[
    "get outlook for ",
    "outlook für ",
    "obtenir outlook pour ",
    "télécharger outlook pour ",
    "obtener outlook para ",
    "descargar outlook para ",
    "obter o outlook para ",
    "baixe o outlook para ",
    "baixar o outlook para ",
    "outlook voor ",
];

/// Our own prompts' "— reply above this line —" as the built-in templates write it in
/// each language. English anywhere on a short line; the others on a line that starts
/// with a dash, as the templates write it.
pub(super) const HINT_ENGLISH: &str = "reply above this line";
pub(super) const HINT_TRANSLATED: &[&str] = &[
    "oberhalb dieser zeile",
    "über dieser zeile",
    "au-dessus de cette ligne",
    "encima de esta línea",
    "acima desta linha",
    "この行より上",
    "この線より上",
    "boven deze regel",
];
