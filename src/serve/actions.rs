//! The action links in mail (docs/serving.md). A GET shows what will happen and one button; only
//! the form's POST acts, and a second POST changes nothing and says so. Mail scanners
//! (Microsoft Safe Links and others) fetch every link and some run scripts: the page has
//! no script and a GET never changes anything. A forged or altered token gets 403, an
//! expired one 410, and neither changes anything.
//!
//! "Can't make it" is the same path as a declined calendar reply: the cancellation is
//! recorded (with the meeting's prompt, reminder and follow-up dropped), and the daemon's
//! reconcile sends the `CANCEL` with `RECURRENCE-ID` to both, which tells the other one.

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use jiff::Timestamp;

use super::Shared;
use super::page_html::{escape, page};
use crate::app;
use crate::app::checkin::Answered;
use crate::app::live::Wake;
use crate::app::meeting::Cancel;
use crate::app::replies::Reply;
use crate::app::review::Held;
use crate::program::{Pair, PersonIndex, Program};
use crate::store::{InboundKind, InboundRecord};
use crate::vocab::MessageKind;
use crate::vocab::links::{Action, Claim, Refused};

/// The longest agenda or list of action items the form takes.
const MAX_TEXT: usize = crate::app::replies::MAX_TEXT;

/// What a valid token names, looked up in the program.
struct Target<'p> {
    claim: Claim,
    pair: Option<&'p Pair>,
    person: PersonIndex,
}

fn now() -> Result<Timestamp, Box<Response>> {
    crate::clock::now().map_err(|e| {
        Box::new(page(
            StatusCode::INTERNAL_SERVER_ERROR,
            "Something went wrong",
            &escape(&format!("{e:#}")),
        ))
    })
}

/// The claim of `token`, and who and what it names; the refusal page otherwise.
fn check<'p>(
    shared: &Shared,
    program: &'p Program,
    token: &str,
    now: Timestamp,
) -> Result<Target<'p>, Box<Response>> {
    let Some(signer) = &shared.signer else {
        return Err(Box::new(page(
            StatusCode::NOT_FOUND,
            "Links are off",
            "<p>This mentoring program does not use links in mail.</p>",
        )));
    };
    let claim = signer.verify(token, now).map_err(|refused| {
        Box::new(match refused {
            Refused::Forged => page(
                StatusCode::FORBIDDEN,
                "This link does not work",
                "<p>The link is not one the mentoring program sent, or part of it was changed \
             (a mail program may have broken it over two lines). Nothing was changed. Open it \
             from the mail again, or answer the mail instead.</p>",
            ),
            Refused::Expired => page(
                StatusCode::GONE,
                "This link has expired",
                "<p>The link was for a meeting or a time that has passed. Nothing was changed.</p>",
            ),
        })
    })?;
    let gone = || {
        Box::new(page(
            StatusCode::GONE,
            "No longer in the program",
            "<p>The person or pair this link is for is no longer in the mentoring program. Nothing was changed.</p>",
        ))
    };
    let person = program.person_by_id(&claim.person).ok_or_else(gone)?;
    // What only the coordinator may do, only the coordinator's link does.
    if claim.action.is_coordinators() && person != program.coordinator {
        return Err(gone());
    }
    let pair = if claim.pair.is_empty() {
        None
    } else {
        let pair = program.pair_by_id(&claim.pair).ok_or_else(gone)?;
        // The coordinator acts on any pair from the digest.
        let coordinators = person == program.coordinator
            && (claim.action.is_coordinators() || claim.action == Action::ReviewDone);
        if pair.mentor != person && pair.mentee != person && !coordinators {
            return Err(gone());
        }
        Some(pair)
    };
    Ok(Target {
        claim,
        pair,
        person,
    })
}

/// The meeting a claim names: its start, and its date in the meeting's zone.
fn meeting(target: &Target<'_>) -> Option<(Timestamp, jiff::civil::Date)> {
    let start: Timestamp = target.claim.subject.parse().ok()?;
    let pair = target.pair?;
    Some((start, pair.meeting.zone.tz.to_datetime(start).date()))
}

fn when(program: &Program, person: PersonIndex, start: Timestamp) -> String {
    let zone = &program.person(person).zone;
    format!(
        "{} ({})",
        start
            .to_zoned_datetime(zone.tz.clone())
            .strftime("%A %-d %B %Y, %H:%M"),
        zone.name
    )
}

fn other_name(program: &Program, pair: &Pair, person: PersonIndex) -> String {
    let other = if pair.mentor == person {
        pair.mentee
    } else {
        pair.mentor
    };
    program.person(other).name.clone()
}

fn button(label: &str) -> String {
    format!(
        "<form method=\"post\"><p><button type=\"submit\">{}</button></p></form>",
        escape(label)
    )
}

/// GET: what the link will do, and its button. Changes nothing.
pub async fn show(State(shared): State<Arc<Shared>>, Path(token): Path<String>) -> Response {
    let program = shared.program();
    let now = match now() {
        Ok(now) => now,
        Err(page) => return *page,
    };
    let target = match check(&shared, &program, &token, now) {
        Ok(target) => target,
        Err(page) => return *page,
    };
    let name = &program.person(target.person).name;
    match (target.claim.action, target.pair, meeting(&target)) {
        (Action::CantMakeIt, Some(pair), Some((start, _))) => page(
            StatusCode::OK,
            "Can't make it?",
            &format!(
                "<p>Hello {name}, this cancels your meeting with <strong>{other}</strong> on {when} \
                 for both of you. {other} is told; the rest of the series stays.</p>{button}",
                name = escape(name),
                other = escape(&other_name(&program, pair, target.person)),
                when = escape(&when(&program, target.person, start)),
                button = button("Cancel this meeting"),
            ),
        ),
        (action @ (Action::Agenda | Action::ActionItems), Some(pair), Some((start, _))) => {
            let (title, what) = if action == Action::Agenda {
                (
                    "Your agenda",
                    "What do you want to talk about? A few lines or bullet points are enough; your mentor reads them before you meet.",
                )
            } else {
                (
                    "Your action items",
                    "What will you do before the next meeting, and by when? They come back to both of you before you meet again.",
                )
            };
            page(
                StatusCode::OK,
                title,
                &format!(
                    "<p>For your meeting with <strong>{other}</strong> on {when}.</p><p class=\"note\">{what} \
                     Only the two of you see it.</p><form method=\"post\"><p><textarea name=\"text\" \
                     maxlength=\"{MAX_TEXT}\" required></textarea></p><p><button type=\"submit\">Send</button></p></form>",
                    other = escape(&other_name(&program, pair, target.person)),
                    when = escape(&when(&program, target.person, start)),
                ),
            )
        }
        (
            action @ (Action::Nudge | Action::Snooze | Action::Handled | Action::ReviewDone),
            Some(pair),
            _,
        ) if target.person == program.coordinator
            && pair.mentor != target.person
            && pair.mentee != target.person =>
        {
            let pair_names = format!(
                "{} and {}",
                program.person(pair.mentor).name,
                program.person(pair.mentee).name
            );
            let (title, what, label) = match action {
                Action::Nudge => (
                    "Nudge this pair?",
                    "sends both a friendly check-in now, asking how their mentoring is going",
                    "Nudge the pair",
                ),
                Action::Snooze => (
                    "Snooze this pair?",
                    "keeps them out of your digest for two weeks, unless things get worse",
                    "Snooze 2 weeks",
                ),
                Action::Handled => (
                    "Mark as handled?",
                    "keeps them out of your digest until something new comes up",
                    "Handled",
                ),
                _ => (
                    "Review held?",
                    "records that they held their relationship review today; their reminders stop",
                    "Review held",
                ),
            };
            page(
                StatusCode::OK,
                title,
                &format!(
                    "<p>Hello {name}, this {what}: <strong>{pair_names}</strong> ({id}).</p>{button}",
                    name = escape(name),
                    what = escape(what),
                    pair_names = escape(&pair_names),
                    id = escape(&pair.id),
                    button = button(label),
                ),
            )
        }
        (Action::ReviewDone, Some(pair), _) => page(
            StatusCode::OK,
            "Did you hold your review?",
            &format!(
                "<p>Hello {name}, this records that you and <strong>{other}</strong> held your \
                 relationship review today. The reminders about it stop.</p>{button}",
                name = escape(name),
                other = escape(&other_name(&program, pair, target.person)),
                button = button("We held our review"),
            ),
        ),
        (Action::Checkin(score), Some(pair), _) => page(
            StatusCode::OK,
            "How is your mentoring going?",
            &format!(
                "<p>Hello {name}, this records your answer to the check-in of {on} about your \
                 mentoring with <strong>{other}</strong>: <strong>{score} — {words}</strong>.</p>\
                 <p class=\"note\">Only the program's coordinator sees it, never {other}.</p>{button}",
                name = escape(name),
                on = escape(&target.claim.subject),
                other = escape(&other_name(&program, pair, target.person)),
                words = app::checkin::score_words(score),
                button = button(&format!(
                    "Answer {score} — {}",
                    app::checkin::score_words(score)
                )),
            ),
        ),
        (Action::Unsubscribe(kind), _, _) => page(
            StatusCode::OK,
            "Unsubscribe?",
            &format!(
                "<p>Hello {name}, this stops {kind}s to you. Calendar invites and cancellations \
                 still come, and so does every other kind of mail.</p>{button}",
                name = escape(name),
                kind = escape(kind.label()),
                button = button(&format!("Stop {}s", kind.label())),
            ),
        ),
        _ => page(
            StatusCode::GONE,
            "No longer in the program",
            "<p>This link is for something that no longer exists. Nothing was changed.</p>",
        ),
    }
}

/// POST: does what the link says, once.
pub async fn act(
    State(shared): State<Arc<Shared>>,
    Path(token): Path<String>,
    body: String,
) -> Response {
    let program = shared.program();
    let now = match now() {
        Ok(now) => now,
        Err(page) => return *page,
    };
    let target = match check(&shared, &program, &token, now) {
        Ok(target) => target,
        Err(page) => return *page,
    };
    let done = match target.claim.action {
        Action::CantMakeIt => cant_make_it(&shared, &program, &target, now).await,
        Action::Agenda | Action::ActionItems => write(&shared, &target, &token, &body, now).await,
        Action::ReviewDone => review_done(&shared, &program, &target, now).await,
        Action::Checkin(score) => checkin(&shared, &program, &target, score, now).await,
        Action::Unsubscribe(kind) => unsubscribe_kind(&shared, &target, kind, now).await,
        Action::Nudge | Action::Snooze | Action::Handled => {
            coordinators(&shared, &target, now).await
        }
    };
    done.unwrap_or_else(|e| {
        tracing::error!(error = %format!("{e:#}"), "an action link failed");
        page(
            StatusCode::SERVICE_UNAVAILABLE,
            "Please try again",
            "<p>The mentoring program could not record this just now. Nothing was changed; try again in a minute.</p>",
        )
    })
}

/// POST `/u/TOKEN`: RFC 8058 one-click unsubscribe (body `List-Unsubscribe=One-Click`,
/// sent by the mail client) or the page's button.
pub async fn unsubscribe(state: State<Arc<Shared>>, token: Path<String>, body: String) -> Response {
    act(state, token, body).await
}

async fn cant_make_it(
    shared: &Shared,
    program: &Program,
    target: &Target<'_>,
    now: Timestamp,
) -> anyhow::Result<Response> {
    let (Some(pair), Some((start, _))) = (target.pair, meeting(target)) else {
        return Ok(page(
            StatusCode::GONE,
            "No such meeting",
            "<p>Nothing was changed.</p>",
        ));
    };
    let other = escape(&other_name(program, pair, target.person));
    match app::meeting::cancel(
        &shared.store,
        program,
        pair,
        start,
        &target.claim.person,
        now,
    )
    .await?
    {
        Cancel::Started => {
            return Ok(page(
                StatusCode::GONE,
                "This meeting has started",
                "<p>It can no longer be cancelled here. Nothing was changed.</p>",
            ));
        }
        Cancel::NoMeeting => {
            return Ok(page(
                StatusCode::GONE,
                "This meeting has moved",
                &format!(
                    "<p>Your meetings with {other} were rescheduled since this mail; there is no \
                     meeting at that time any more. Nothing was changed. The newer mail has a link \
                     for the new time.</p>"
                ),
            ));
        }
        Cancel::Already => {
            return Ok(page(
                StatusCode::OK,
                "Already cancelled",
                &format!(
                    "<p>This meeting with {other} is already cancelled. Nothing else changed.</p>"
                ),
            ));
        }
        Cancel::Cancelled { .. } => {}
    }
    let _ = shared.wake.try_send(Wake::Inbound);
    Ok(page(
        StatusCode::OK,
        "Cancelled",
        &format!(
            "<p>Your meeting with <strong>{other}</strong> on {when} is cancelled for both of you; \
             {other} is told, and your calendars get the cancellation.</p>",
            when = escape(&when(program, target.person, start)),
        ),
    ))
}

/// The agenda or action items from the form, recorded as a reply by mail would be.
async fn write(
    shared: &Shared,
    target: &Target<'_>,
    token: &str,
    body: &str,
    now: Timestamp,
) -> anyhow::Result<Response> {
    // `application/x-www-form-urlencoded`; a body that is not is a form without text.
    let form: HashMap<String, String> = serde_urlencoded::from_str(body).unwrap_or_default();
    let text = form.get("text").map(|t| t.trim()).unwrap_or_default();
    if text.is_empty() {
        return Ok(page(
            StatusCode::BAD_REQUEST,
            "Nothing to send",
            "<p>The text was empty. Go back and write a few lines.</p>",
        ));
    }
    let text: String = text.chars().take(MAX_TEXT).collect();
    let (Some(pair), Some((start, _))) = (target.pair, meeting(target)) else {
        return Ok(page(
            StatusCode::GONE,
            "No such meeting",
            "<p>Nothing was changed.</p>",
        ));
    };
    let agenda = target.claim.action == Action::Agenda;
    if agenda && start <= now {
        return Ok(page(
            StatusCode::GONE,
            "This meeting has started",
            "<p>The agenda can no longer reach your mentor before it. Nothing was changed.</p>",
        ));
    }
    // The same text sent twice through the same link is one submission.
    let digest = ring::digest::digest(&ring::digest::SHA256, format!("{token}\n{text}").as_bytes());
    let id: String = digest.as_ref()[..16]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let subject = if agenda {
        "agenda (form)"
    } else {
        "action items (form)"
    };
    let reply = Reply {
        kind: if agenda {
            InboundKind::Agenda
        } else {
            InboundKind::ActionItems
        },
        pair: pair.id.clone(),
        meeting: start,
        person: target.claim.person.clone(),
        text,
    };
    let came = InboundRecord::received(
        format!("<{id}@link.mentord.invalid>"),
        target.claim.person.clone(),
        subject,
    );
    if !reply.record(&shared.store, came, now).await? {
        return Ok(page(
            StatusCode::OK,
            "Already received",
            "<p>This text was already received. Nothing else changed.</p>",
        ));
    }
    let _ = shared.wake.try_send(Wake::Inbound);
    Ok(page(
        StatusCode::OK,
        "Thank you",
        if agenda {
            "<p>Your agenda reaches your mentor before you meet.</p>"
        } else {
            "<p>Your action items come back to both of you before the next meeting.</p>"
        },
    ))
}

async fn review_done(
    shared: &Shared,
    program: &Program,
    target: &Target<'_>,
    now: Timestamp,
) -> anyhow::Result<Response> {
    let Some(pair) = target.pair else {
        return Ok(page(
            StatusCode::GONE,
            "No such pair",
            "<p>Nothing was changed.</p>",
        ));
    };
    let today = program.zone.tz.to_datetime(now).date();
    // A review already recorded on or after the one this nudge was about counts.
    let due: Option<jiff::civil::Date> = target.claim.subject.parse().ok();
    match app::review::held(&shared.store, pair, today, due, today, now).await? {
        Held::Already(held) => {
            return Ok(page(
                StatusCode::OK,
                "Already recorded",
                &format!("<p>A review on {held} is already recorded. Nothing else changed.</p>"),
            ));
        }
        Held::Refused(e) => {
            return Ok(page(
                StatusCode::CONFLICT,
                "Not recorded",
                &format!("<p>{}</p>", escape(&e.to_string())),
            ));
        }
        Held::Recorded { .. } => {}
    }
    Ok(page(
        StatusCode::OK,
        "Recorded",
        "<p>Your review is recorded; the reminders about it stop. Thank you.</p>",
    ))
}

/// The coordinator's snooze or handled, from the digest.
async fn coordinators(
    shared: &Shared,
    target: &Target<'_>,
    now: Timestamp,
) -> anyhow::Result<Response> {
    let Some(pair) = target.pair else {
        return Ok(page(
            StatusCode::GONE,
            "No such pair",
            "<p>Nothing was changed.</p>",
        ));
    };
    let done = match target.claim.action {
        Action::Nudge => app::exceptions::nudge(&shared.store, &pair.id, now).await?,
        Action::Snooze => app::exceptions::snooze(&shared.store, &pair.id, now).await?,
        _ => app::exceptions::handled(&shared.store, &pair.id).await?,
    };
    if done == app::exceptions::Done::Recorded && target.claim.action == Action::Nudge {
        // The daemon sends the check-ins now, not at its next planned wake-up.
        let _ = shared.wake.try_send(Wake::Inbound);
    }
    Ok(match done {
        app::exceptions::Done::Recorded => page(
            StatusCode::OK,
            "Done",
            &match target.claim.action {
                Action::Nudge => format!(
                    "<p>{} and {} get a check-in from the program in a minute.</p>",
                    escape(&program_name(shared, pair.mentor)),
                    escape(&program_name(shared, pair.mentee)),
                ),
                Action::Snooze => format!(
                    "<p>{} is out of your digest for two weeks, unless things get worse.</p>",
                    escape(&pair.id)
                ),
                _ => format!(
                    "<p>{} is out of your digest until something new comes up.</p>",
                    escape(&pair.id)
                ),
            },
        ),
        app::exceptions::Done::NotFlagged => page(
            StatusCode::OK,
            "Nothing to do",
            &format!(
                "<p>{} is not in your digest any more{}. Nothing was changed.</p>",
                escape(&pair.id),
                if target.claim.action == Action::Nudge {
                    ", or was nudged in the last two weeks"
                } else {
                    ""
                }
            ),
        ),
    })
}

/// A score from the check-in's links (see `app::checkin`): recorded once; the same link
/// again changes nothing and says so, another score of the same mail replaces it.
async fn checkin(
    shared: &Shared,
    program: &Program,
    target: &Target<'_>,
    score: u8,
    now: Timestamp,
) -> anyhow::Result<Response> {
    let (Some(pair), Ok(on)) = (target.pair, target.claim.subject.parse()) else {
        return Ok(page(
            StatusCode::GONE,
            "No such check-in",
            "<p>Nothing was changed.</p>",
        ));
    };
    let via = crate::store::CheckinVia::Link;
    let answered = app::checkin::answer(
        &shared.store,
        program,
        pair,
        target.person,
        on,
        Some(score),
        None,
        via,
        now,
    )
    .await?;
    let words = app::checkin::score_words(score);
    Ok(match answered {
        Answered::Recorded => page(
            StatusCode::OK,
            "Thank you",
            &format!(
                "<p>Your answer, {score} — {words}, is recorded for the program's coordinator. \
                 If you want to say more, reply to the check-in mail.</p>"
            ),
        ),
        Answered::Changed { .. } => page(
            StatusCode::OK,
            "Answer changed",
            &format!(
                "<p>Your answer to this check-in is now {score} — {words}; the earlier one is replaced.</p>"
            ),
        ),
        Answered::Already => page(
            StatusCode::OK,
            "Already recorded",
            &format!(
                "<p>Your answer, {score} — {words}, was already recorded. Nothing else changed.</p>"
            ),
        ),
        Answered::NotTheirs => page(
            StatusCode::GONE,
            "No longer in the program",
            "<p>This check-in is for a pair you are no longer part of. Nothing was changed.</p>",
        ),
    })
}

fn program_name(shared: &Shared, person: crate::program::PersonIndex) -> String {
    shared.program().person(person).name.clone()
}

async fn unsubscribe_kind(
    shared: &Shared,
    target: &Target<'_>,
    kind: MessageKind,
    now: Timestamp,
) -> anyhow::Result<Response> {
    if !app::unsubscribe::unsubscribe(&shared.store, &target.claim.person, kind, now).await? {
        return Ok(page(
            StatusCode::OK,
            "Already unsubscribed",
            &format!(
                "<p>You no longer receive {}s. Nothing else changed.</p>",
                escape(kind.label())
            ),
        ));
    }
    Ok(page(
        StatusCode::OK,
        "Unsubscribed",
        &format!(
            "<p>You will no longer receive {}s. Invites, cancellations and other mail still come.</p>",
            escape(kind.label())
        ),
    ))
}
