//! The trimmer's cases, one line of input and output each (the mail corpus is
//! `tests/reply_corpus.rs`).

use super::*;

/// (name, input, expected)
const CASES: &[(&str, &str, &str)] = &[
    ("plain text stays", "Hello\nWorld", "Hello\nWorld"),
    ("empty", "", ""),
    ("only blanks", "\n  \n\t\n", ""),
    (
        "top-post with quote",
        "- item one\n- item two\n\nOn Mon, Jan 11, 2027 at 9:00 AM Mentord <m@x.org> wrote:\n\n> Hi\n> there\n",
        "- item one\n- item two",
    ),
    (
        "gmail wrapped attribution",
        "Agenda\n\nOn Mon, Jan 11, 2027 at 9:00 AM Mentord <mentoring+abc123@example.org>\nwrote:\n\n> Hi\n",
        "Agenda",
    ),
    (
        "attribution wrapped over three lines",
        "Agenda\n\nOn Mon, Jan 11, 2027 at 9:00 AM\nMentord\n<m@x.org> wrote:\n> Hi\n",
        "Agenda",
    ),
    (
        "german attribution",
        "Punkte\n\nAm Mo., 11. Jan. 2027 um 09:00 Uhr schrieb Mentord <m@x.org>:\n> Hallo\n",
        "Punkte",
    ),
    (
        "french attribution with nbsp",
        "Points\n\nLe lun. 11 janv. 2027 à 09:00, Mentord <m@x.org> a écrit\u{a0}:\n> Salut\n",
        "Points",
    ),
    (
        "spanish attribution",
        "Puntos\n\nEl lun, 11 ene 2027 a las 9:00, Mentord (<m@x.org>) escribió:\n> Hola\n",
        "Puntos",
    ),
    (
        "dutch attribution",
        "Punten\n\nOp ma 11 jan 2027 om 09:00 schreef Mentord <m@x.org>:\n> Hoi\n",
        "Punten",
    ),
    (
        "attribution without date needs a quote after it",
        "Agenda\n\nMentord <m@x.org> wrote:\n> Hi\n",
        "Agenda",
    ),
    (
        "prose ending in wrote: is kept without quote",
        "Here is what Grace wrote:\nthe plan",
        "Here is what Grace wrote:\nthe plan",
    ),
    (
        "unquoted history after attribution is cut",
        "Agenda\n\nOn 11/01/2027 09:00, Mentord wrote:\nHi Alan, reply with your agenda\n",
        "Agenda",
    ),
    (
        "outlook header block",
        "Agenda\n\nFrom: Mentord <m@x.org>\nSent: Monday, January 11, 2027 9:00 AM\nTo: Alan <a@x.org>\nSubject: Agenda\n\nHi Alan\n",
        "Agenda",
    ),
    (
        "outlook header block with rule and bold",
        "Agenda\n\n________________________________\n*From:* Mentord <m@x.org>\n*Sent:* Monday\n*To:* Alan\n*Subject:* Agenda\nHi Alan\n",
        "Agenda",
    ),
    (
        "german outlook header block",
        "Punkte\n\nVon: Mentord <m@x.org>\nGesendet: Montag, 11. Januar 2027 09:00\nAn: Alan <a@x.org>\nBetreff: Agenda\n\nHallo\n",
        "Punkte",
    ),
    (
        "french outlook header block",
        "Points\n\nDe : Mentord\nEnvoyé : lundi 11 janvier 2027 09:00\nÀ : Alan\nObjet : Agenda\nSalut\n",
        "Points",
    ),
    (
        "single header-like line is text",
        "Subject: careers\nDate: flexible",
        "Subject: careers\nDate: flexible",
    ),
    (
        "original message marker",
        "Agenda\n\n-----Original Message-----\nFrom: Mentord\nHi",
        "Agenda",
    ),
    (
        "german original message marker",
        "Punkte\n-----Ursprüngliche Nachricht-----\nVon: Mentord\nHallo",
        "Punkte",
    ),
    (
        "dash signature",
        "Agenda\n\n-- \nAlan Turing\nBletchley",
        "Agenda",
    ),
    (
        "iphone signature",
        "Agenda\n\nSent from my iPhone\n\n> Hi",
        "Agenda",
    ),
    (
        "german iphone signature",
        "Punkte\n\nVon meinem iPhone gesendet",
        "Punkte",
    ),
    (
        "outlook mobile",
        "Agenda\n\nGet Outlook for Android",
        "Agenda",
    ),
    (
        "french iphone signature",
        "Points\n\nEnvoyé de mon iPhone",
        "Points",
    ),
    (
        "hint line cuts, also quoted",
        "Agenda\n> Hi\n> — reply above this line —\nstray",
        "Agenda",
    ),
    (
        "hint line unquoted",
        "Agenda\n— Reply above this line —\nold",
        "Agenda",
    ),
    (
        "inline reply keeps own lines",
        "On 11.01.27 09:00, Mentord wrote:\n> What do you want to discuss?\nCareer plans\n\n> Anything else?\n\nPaper review\n",
        "Career plans\n\nPaper review",
    ),
    (
        "blank lines collapse and trim",
        "\n\n\nA\n\n\n\nB\n\n\n",
        "A\n\nB",
    ),
    ("crlf line endings", "A\r\nB\r\n\r\n> q\r\n", "A\nB"),
    (
        "apple quoted attribution",
        "Agenda\n\n> On 11 Jan 2027, at 09:00, Mentord <m@x.org> wrote:\n> \n> Hi\n",
        "Agenda",
    ),
    (
        "on-line without verb is text",
        "On Tuesday at 10 we should cover:\n- a\n- b",
        "On Tuesday at 10 we should cover:\n- a\n- b",
    ),
    ("only quotes", "> a\n> b", ""),
    (
        "ios dutch attribution",
        "Punten\n\nOp 11 jan 2027 om 09:00 heeft mentord <m@x.org> het volgende geschreven:\n\n> Hoi\n",
        "Punten",
    ),
    (
        "spanish outlook header block",
        "Puntos\n\nDe: mentord <m@x.org>\nEnviado: lunes, 11 de enero de 2027 9:00\nPara: Alan\nAsunto: Agenda\n\nHola",
        "Puntos",
    ),
    (
        "dutch outlook header block",
        "Punten\n\nVan: mentord <m@x.org>\nVerzonden: maandag 11 januari 2027 09:00\nAan: Alan\nOnderwerp: Agenda\n\nHoi",
        "Punten",
    ),
    (
        "wrapped To: inside header block",
        "Agenda\n\nFrom: mentord\nSent: Monday, January 11, 2027 9:00 AM\nTo: Alan <a@x.org>; Grace\n<g@x.org>\nCc: Ada\nSubject: Agenda\n\nHi",
        "Agenda",
    ),
    (
        "french original message marker",
        "Points\n\n-----Message d'origine-----\nDe : mentord\nSalut",
        "Points",
    ),
    (
        "gmail forwarded marker",
        "FYI\n\n---------- Forwarded message ---------\nFrom: mentord\nHi",
        "FYI",
    ),
    (
        "apple forward",
        "FYI\n\nBegin forwarded message:\n\nFrom: x",
        "FYI",
    ),
    (
        "long sentence starting like a mobile signature stays",
        "Sent from my phone earlier: the list of topics I want to discuss with Grace\n- a",
        "Sent from my phone earlier: the list of topics I want to discuss with Grace\n- a",
    ),
    (
        "underscore rule alone stays",
        "A\n__________\nB",
        "A\n__________\nB",
    ),
    ("dash signature without space", "Agenda\n--\nAlan", "Agenda"),
    (
        "indentation kept, trailing spaces dropped",
        "Agenda:  \n    - indented\t\n",
        "Agenda:\n    - indented",
    ),
    // Every built-in language (issue 25 item 4): quote headers, header blocks,
    // original-message markers, signatures; and genuine text that looks like them.
    (
        "portuguese gmail quote header",
        "- Carreira\n\nEm ter., 26 de jan. de 2027 às 10:00, mentord <m@x.org> escreveu:\n\n> Olá\n",
        "- Carreira",
    ),
    (
        "portuguese gmail quote header wrapped",
        "- Carreira\n\nEm ter., 26 de jan. de 2027 às 10:00, mentord <mentoring+abc123@example.org>\nescreveu:\n\n> Olá\n",
        "- Carreira",
    ),
    (
        "portuguese apple quote header",
        "- Carreira\n\nEm 26 de jan. de 2027, à(s) 10:00, mentord <m@x.org> escreveu:\n\n> Olá\n",
        "- Carreira",
    ),
    (
        "japanese gmail quote header",
        "・キャリア\n\n2027年1月26日(火) 10:00 mentord <m@x.org>:\n\n> こんにちは\n",
        "・キャリア",
    ),
    (
        "japanese gmail quote header wrapped inside the address",
        "・キャリア\n\n2027年1月26日(火) 10:00 mentord <\nmentoring+abc123@example.org>:\n\n> こんにちは\n",
        "・キャリア",
    ),
    (
        "japanese thunderbird quote header",
        "・キャリア\n\n2027/01/26 10:00 に mentord さんは書きました:\n> こんにちは\n",
        "・キャリア",
    ),
    (
        "japanese apple quote header, full-width colon",
        "・キャリア\n\n2027/01/26 10:00、mentord <m@x.org>のメール：\n> こんにちは\n",
        "・キャリア",
    ),
    (
        "japanese name-first quote header before a quote",
        "・キャリア\n\nmentord さんは書きました:\n> こんにちは\n",
        "・キャリア",
    ),
    (
        "japanese outlook header block",
        "・キャリア\n\n差出人: mentord <m@x.org>\n送信日時: 2027年1月26日 10:00\n宛先: Alan <a@x.org>\n件名: アジェンダ\n\nこんにちは",
        "・キャリア",
    ),
    (
        "portuguese outlook header block (pt-BR desktop)",
        "- Carreira\n\nDe: mentord <m@x.org>\nEnviada em: terça-feira, 26 de janeiro de 2027 10:00\nPara: Alan <a@x.org>\nAssunto: Agenda\n\nOlá",
        "- Carreira",
    ),
    (
        "portuguese outlook header block (Enviado)",
        "- Carreira\n\nDe: mentord <m@x.org>\nEnviado: 26 de janeiro de 2027 10:00\nPara: Alan\nAssunto: Agenda\n\nOlá",
        "- Carreira",
    ),
    (
        "french outlook header block with no-break spaces",
        "Points\n\nDe\u{a0}: mentord\nEnvoyé\u{a0}: mardi 26 janvier 2027 10:00\nÀ\u{a0}: Alan\nObjet\u{a0}: Agenda\n\nBonjour",
        "Points",
    ),
    (
        "outlook header block with importance and attachments",
        "Punkte\n\nVon: mentord\nGesendet: Dienstag, 26. Januar 2027 10:00\nAn: Alan\nWichtigkeit: Hoch\nBetreff: Agenda\n\nHallo",
        "Punkte",
    ),
    (
        "portuguese original message marker",
        "- Carreira\n\n-----Mensagem original-----\nDe: mentord\nOlá",
        "- Carreira",
    ),
    (
        "spanish original message marker",
        "Puntos\n\n-----Mensaje original-----\nDe: mentord\nHola",
        "Puntos",
    ),
    (
        "japanese outlook original message marker",
        "・キャリア\n\n-----Original Message-----\nFrom: mentord\nこんにちは",
        "・キャリア",
    ),
    (
        "japanese thunderbird forward marker",
        "・キャリア\n\n-------- 転送メッセージ --------\n件名: アジェンダ",
        "・キャリア",
    ),
    (
        "portuguese gmail forward marker",
        "- Carreira\n\n---------- Mensagem encaminhada ---------\nDe: mentord",
        "- Carreira",
    ),
    (
        "portuguese iphone signature",
        "- Carreira\n\nEnviado do meu iPhone",
        "- Carreira",
    ),
    (
        "spanish iphone signature",
        "Puntos\n\nEnviado desde mi iPhone",
        "Puntos",
    ),
    (
        "japanese iphone signature",
        "・キャリア\n\niPhoneから送信",
        "・キャリア",
    ),
    (
        "german iphone signature, gesendet first",
        "Punkte\n\nGesendet von meinem iPhone",
        "Punkte",
    ),
    (
        "samsung signature with a full stop",
        "Punkte\n\nVon meinem Samsung Galaxy Smartphone gesendet.",
        "Punkte",
    ),
    (
        "outlook mobile in portuguese",
        "- Carreira\n\nObter o Outlook para iOS<https://aka.ms/o0ukef>",
        "- Carreira",
    ),
    (
        "translated hint line cuts",
        "Punkte\n> Hallo\n> — Bitte oberhalb dieser Zeile antworten —\nalt",
        "Punkte",
    ),
    (
        "spanish header-like lines in an agenda stay",
        "De: nada, gracias por la última vez\nPara: la próxima reunión\nAsunto: mi carrera\n- Fecha: 26 de enero",
        "De: nada, gracias por la última vez\nPara: la próxima reunión\nAsunto: mi carrera\n- Fecha: 26 de enero",
    ),
    (
        "a from line and a date without time stay",
        "De: nada\nFecha: 26 de enero de 2027\nPara: todos",
        "De: nada\nFecha: 26 de enero de 2027\nPara: todos",
    ),
    (
        "german sentence starting like a signature stays",
        "Von meinem Mentor möchte ich wissen:\n- wie man Feedback gibt",
        "Von meinem Mentor möchte ich wissen:\n- wie man Feedback gibt",
    ),
    (
        "portuguese sentence with escreveu stays without date",
        "Em resumo, o que a Grace escreveu:\n- revisar o capítulo",
        "Em resumo, o que a Grace escreveu:\n- revisar o capítulo",
    ),
    (
        "japanese date line without address or verb stays",
        "2027年1月26日(火) 10:00 の議題:\n・キャリア",
        "2027年1月26日(火) 10:00 の議題:\n・キャリア",
    ),
    (
        "japanese sentence ending in から送信 stays",
        "明日の朝に資料をオフィスから送信します\n・キャリア",
        "明日の朝に資料をオフィスから送信します\n・キャリア",
    ),
    (
        "german sentences with schrieb and a time but no date stay",
        "Am Montag um 10:00 schrieb mir die Sommerschule:\n- Frist\nAm Dienstag habe ich geschrieben:\n- Antwort",
        "Am Montag um 10:00 schrieb mir die Sommerschule:\n- Frist\nAm Dienstag habe ich geschrieben:\n- Antwort",
    ),
    (
        "portuguese sentence with a day and month but no year stays",
        "Em 26/01 às 10:00 a Grace me escreveu:\n- revisar o capítulo",
        "Em 26/01 às 10:00 a Grace me escreveu:\n- revisar o capítulo",
    ),
    (
        "on-line with a verb but no date or time stays",
        "On Tuesday at 10 we cover what Grace\nwrote:\n- a",
        "On Tuesday at 10 we cover what Grace\nwrote:\n- a",
    ),
];

#[test]
fn table() {
    let mut failures = Vec::new();
    for (name, input, expected) in CASES {
        let got = trim_reply(input);
        if got != *expected {
            failures.push(format!(
                "{name}:\n  got      {got:?}\n  expected {expected:?}"
            ));
        }
    }
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
}

#[test]
fn long_lines_are_fine() {
    let line = "On ".to_string() + &"x".repeat(2_000_000);
    let text = format!("{line}\n{line}\n{line}\nwrote:\n");
    assert_eq!(trim_reply(&text), text.trim_end());
}

/// Hostile input: every line could start a quote header (an opening word or a
/// year-first date), a header block or a marker, and none ends as one. The work stays
/// linear: each line is joined with at most two more, up to 600 bytes.
#[test]
fn lines_that_almost_match_are_text() {
    let lines = [
        "On 2027-01-26 10:00 Grace <g@x.org> said",
        "2027年1月26日(火) 10:00 <a@b",
        "Von: mentord",
        "Gesendet: Dienstag, 26. Januar 2027 10:00",
        "----- Original",
    ];
    let text = lines.repeat(20_000).join("\n");
    assert_eq!(trim_reply(&text), text);
}
