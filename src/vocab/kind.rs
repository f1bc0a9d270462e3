//! The kinds of message mentord sends, and the delivery key that names each message.
//! Adding a kind is one variant here, one template, one schedule rule: the matches
//! below and in `render` make the compiler find the rest.

use std::fmt;
use std::str::FromStr;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum MessageKind {
    /// A series new to its attendees (`METHOD:REQUEST`).
    Invite,
    /// A changed series (`REQUEST`, `SEQUENCE`+1).
    InviteUpdate,
    /// A series ended, paused or removed, or sent to an old address (`CANCEL`).
    InviteCancel,
    /// One meeting of a series cancelled (`CANCEL` with `RECURRENCE-ID`).
    OccurrenceCancel,
    AgendaPrompt,
    MentorReminder,
    /// The mentee's agenda, passed on to the mentor when it came after the reminder.
    Agenda,
    Followup,
    ReviewNudge,
    ReviewEscalation,
    /// "How is your mentoring going?", to each person of a pair every `checkin_every`.
    Checkin,
    Digest,
    /// A proven reply of one person of a pair that is no agenda or action items
    /// ("thanks, see you tomorrow"), passed on to the other person (SPEC §5 "No dead ends").
    Forwarded,
}

impl MessageKind {
    /// Whether a person may stop this kind (docs/serving.md); invites and cancellations always go.
    pub fn is_optional(self) -> bool {
        matches!(
            self,
            MessageKind::AgendaPrompt
                | MessageKind::MentorReminder
                | MessageKind::Followup
                | MessageKind::ReviewNudge
                | MessageKind::Checkin
                | MessageKind::Digest
        )
    }

    pub const ALL: [MessageKind; 13] = [
        MessageKind::Invite,
        MessageKind::InviteUpdate,
        MessageKind::InviteCancel,
        MessageKind::OccurrenceCancel,
        MessageKind::AgendaPrompt,
        MessageKind::MentorReminder,
        MessageKind::Agenda,
        MessageKind::Followup,
        MessageKind::ReviewNudge,
        MessageKind::ReviewEscalation,
        MessageKind::Checkin,
        MessageKind::Digest,
        MessageKind::Forwarded,
    ];

    /// The name in the store, in delivery keys, file names and JSON; also the name of
    /// its template (`templates/<name>.md`).
    pub fn name(self) -> &'static str {
        match self {
            MessageKind::Invite => "invite",
            MessageKind::InviteUpdate => "invite_update",
            MessageKind::InviteCancel => "invite_cancel",
            MessageKind::OccurrenceCancel => "occurrence_cancel",
            MessageKind::AgendaPrompt => "agenda_prompt",
            MessageKind::MentorReminder => "mentor_reminder",
            MessageKind::Agenda => "agenda",
            MessageKind::Followup => "followup",
            MessageKind::ReviewNudge => "review_nudge",
            MessageKind::ReviewEscalation => "review_escalation",
            MessageKind::Checkin => "checkin",
            MessageKind::Digest => "digest",
            MessageKind::Forwarded => "forwarded",
        }
    }

    /// What a person calls it.
    pub fn label(self) -> &'static str {
        match self {
            MessageKind::Invite => "series invite",
            MessageKind::InviteUpdate => "series update",
            MessageKind::InviteCancel => "series cancel",
            MessageKind::OccurrenceCancel => "meeting cancel",
            MessageKind::AgendaPrompt => "agenda prompt",
            MessageKind::MentorReminder => "mentor reminder",
            MessageKind::Agenda => "agenda",
            MessageKind::Followup => "follow-up",
            MessageKind::ReviewNudge => "review nudge",
            MessageKind::ReviewEscalation => "review escalation",
            MessageKind::Checkin => "check-in",
            MessageKind::Digest => "digest",
            MessageKind::Forwarded => "forwarded reply",
        }
    }

    /// Carries an iCalendar object.
    pub fn is_calendar(self) -> bool {
        matches!(
            self,
            MessageKind::Invite
                | MessageKind::InviteUpdate
                | MessageKind::InviteCancel
                | MessageKind::OccurrenceCancel
        )
    }
}

impl fmt::Display for MessageKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is not a kind of message mentord sends")]
pub struct UnknownKind(pub String);

impl FromStr for MessageKind {
    type Err = UnknownKind;

    fn from_str(text: &str) -> Result<MessageKind, UnknownKind> {
        MessageKind::ALL
            .into_iter()
            .find(|k| k.name() == text)
            .ok_or_else(|| UnknownKind(text.to_string()))
    }
}

/// What makes a message itself: no two messages share one, and the same message always
/// has the same (so it is queued once, and its `Message-ID`, derived from it, survives a
/// crash). Written `kind/pair/occurrence/sequence/recipient`, `-` for what is absent:
/// `agenda_prompt/grace-alan/2027-01-12T15:00:00Z/0/alan`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct DeliveryKey {
    pub kind: MessageKind,
    /// The pair's id; `None` for program-wide mail (digests).
    pub pair: Option<String>,
    /// Which meeting, review nudge (`2027-04-12#1`) or digest (its time); `None` for a
    /// whole series.
    pub occurrence: Option<String>,
    /// The series' SEQUENCE for calendar mail, else 0.
    pub sequence: u32,
    /// The person's id, or an address no longer in the program (a cancel to an old
    /// address).
    pub recipient: String,
}

impl fmt::Display for DeliveryKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}/{}/{}/{}/{}",
            self.kind,
            self.pair.as_deref().unwrap_or("-"),
            self.occurrence.as_deref().unwrap_or("-"),
            self.sequence,
            self.recipient
        )
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is not a delivery key (kind/pair/occurrence/sequence/recipient)")]
pub struct BadKey(pub String);

impl FromStr for DeliveryKey {
    type Err = BadKey;

    fn from_str(text: &str) -> Result<DeliveryKey, BadKey> {
        let bad = || BadKey(text.to_string());
        // The recipient comes last: an address may hold a `/`, nothing before it can.
        let mut parts = text.splitn(5, '/');
        let mut next = || parts.next().ok_or_else(bad);
        let kind = next()?.parse().map_err(|_| bad())?;
        let optional = |part: &str| (part != "-").then(|| part.to_string());
        let pair = optional(next()?);
        let occurrence = optional(next()?);
        let sequence = next()?.parse().map_err(|_| bad())?;
        let recipient = next()?.to_string();
        if recipient.is_empty() {
            return Err(bad());
        }
        Ok(DeliveryKey {
            kind,
            pair,
            occurrence,
            sequence,
            recipient,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn names_read_back() {
        for kind in MessageKind::ALL {
            assert_eq!(kind.name().parse::<MessageKind>(), Ok(kind));
        }
        assert!("meeting".parse::<MessageKind>().is_err());
    }

    #[test]
    fn keys_keep_their_format() {
        let key = DeliveryKey {
            kind: MessageKind::InviteCancel,
            pair: Some("barbara-vint".into()),
            occurrence: None,
            sequence: 1,
            recipient: "v/int@example.org".into(),
        };
        assert_eq!(
            key.to_string(),
            "invite_cancel/barbara-vint/-/1/v/int@example.org"
        );
        assert_eq!(key.to_string().parse(), Ok(key));
        assert!("digest/-/x/notanumber/ada".parse::<DeliveryKey>().is_err());
        assert!("digest/-/x/0/".parse::<DeliveryKey>().is_err());
    }

    proptest! {
        #[test]
        fn any_key_reads_back(
            kind in proptest::sample::select(MessageKind::ALL.to_vec()),
            pair in proptest::option::of("[a-z0-9._-]{1,20}"),
            occurrence in proptest::option::of("[0-9T:#Z-]{1,25}"),
            sequence in any::<u32>(),
            recipient in "[^\\x00]{1,30}",
        ) {
            prop_assume!(pair.as_deref() != Some("-") && occurrence.as_deref() != Some("-"));
            let key = DeliveryKey { kind, pair, occurrence, sequence, recipient };
            prop_assert_eq!(key.to_string().parse::<DeliveryKey>(), Ok(key));
        }
    }
}
