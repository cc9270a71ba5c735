//! The scripted interview behind `meetmind demo`: a Senior Backend Engineer candidate in assist mode, following the
//! `backend_engineer` template's plan so that suggestions, coverage, evidence and the scorecard all have something
//! to find.
//!
//! The answers carry concrete, searchable moments (the Kafka pipeline, a zero-downtime PostgreSQL migration, a 2 a.m.
//! outage and its postmortem, mentoring, a deadline slip) with numbers, and one deliberately vague answer about testing
//! so that the competency scores differ. Nothing in it touches protected traits.

use app::interviews::Speaker;

pub const CANDIDATE_NAME: &str = "Alex Rivera";
pub const CANDIDATE_EMAIL: &str = "alex.rivera@example.com";
pub const ROLE: &str = "Senior Backend Engineer";

/// A realistic sample interview for `meetmind demo`: a backend engineer candidate, assist mode, following the
/// backend_engineer template's plan. (speaker, text, start_ms, end_ms), in order.
///
/// Offsets leave pauses between turns (thinking time, note-taking) as a real transcript would.
pub fn transcript() -> Vec<(Speaker, &'static str, i64, i64)> {
    use Speaker::{Candidate, Interviewer};
    vec![
        (
            Interviewer,
            "Hi Alex, thanks for joining. I'm Sam, I lead the platform team. We'll spend about twenty minutes on \
             your experience and leave time for your questions. Tell me about your current role and the systems you \
             work on.",
            4_000,
            21_100,
        ),
        (
            Candidate,
            "Sure. I'm a senior backend engineer at a logistics company, on a team of six that owns order \
             processing. We run about a dozen services in Go, a PostgreSQL cluster that holds orders and deliveries, \
             and the event pipeline that feeds billing, notifications and analytics. Day to day I split my time \
             between feature work, design reviews and our on-call rotation, and for the last year I've been the tech \
             lead for the pipeline.",
            23_500,
            67_900,
        ),
        (
            Interviewer,
            "Walk me through the design of a system you built that had to scale. What trade-offs did you make?",
            89_300,
            97_900,
        ),
        (
            Candidate,
            "The biggest one is our event pipeline. It used to be a set of cron jobs polling the orders table every \
             minute, which hammered the primary database and gave us minutes of delay. I proposed moving it onto \
             Kafka. We went with twenty-four partitions keyed by order id, so events for one order stay in order, \
             and consumers scale out per partition. The trade-off was operational complexity: we took on running a \
             Kafka cluster, schema management and rebalancing, in exchange for taking read load off Postgres and \
             getting near real-time events. We peak around three thousand events a second, so we sized for ten times \
             that.",
            103_200,
            166_800,
        ),
        (
            Interviewer,
            "How did you handle delivery guarantees? Did you rely on Kafka's exactly-once semantics?",
            179_200,
            185_000,
        ),
        (
            Candidate,
            "We looked at exactly-once and decided against it. Kafka transactions only give you exactly-once within \
             Kafka, and most of our consumers write to Postgres or call external APIs, so the guarantee would stop \
             at the boundary anyway. Instead we run at-least-once delivery with idempotent consumers: every event \
             carries a unique id, and each consumer records processed ids in the same database transaction as its \
             side effect. A duplicate becomes a no-op. It's simpler to reason about, and we tested it by replaying a \
             whole day of events into staging and checking the totals matched.",
            186_800,
            243_200,
        ),
        (
            Interviewer,
            "What did you monitor to know the new pipeline was healthy, and what did the results look like?",
            267_500,
            275_600,
        ),
        (
            Candidate,
            "Consumer lag per partition was the main signal, with an alert when any consumer group falls more than \
             thirty seconds behind. We also tracked end-to-end latency from the order write to the notification \
             being sent. After the move, p99 latency went from 900 ms to 120 ms, and load on the primary database \
             dropped by about a third. One surprise was a hot partition: a few large customers generated most of the \
             traffic, so we changed the key to include the warehouse id, which evened out the consumer lag.",
            277_400,
            330_800,
        ),
        (
            Interviewer,
            "You mentioned PostgreSQL. Have you had to change the schema of a large table while it was in use?",
            348_900,
            357_500,
        ),
        (
            Candidate,
            "Yes, last spring we had to split a status column on the orders table, about 40 million rows, with zero \
             downtime. We added the new nullable columns first, which is instant in Postgres, then built the indexes \
             with CREATE INDEX CONCURRENTLY so writes were never blocked. The backfill ran in batches of ten \
             thousand rows with a short pause between batches, and we watched replication lag and stopped if it went \
             over a few seconds. The application dual-wrote both columns for a week, then we switched reads, added \
             the NOT NULL constraint as NOT VALID and validated it separately. The whole thing took two weeks and \
             nobody noticed.",
            361_700,
            426_500,
        ),
        (
            Interviewer,
            "How do you make sure the code you ship is correct and maintainable? Tell me about your testing \
             approach.",
            438_900,
            447_500,
        ),
        (
            Candidate,
            "We have unit tests, and CI runs them on every pull request. I try to write tests where it makes sense, \
             mostly for the trickier logic. Coverage is decent, I think around sixty percent, though I'd have to \
             check. Honestly we rely a lot on staging and code review to catch problems. I'd like us to do more \
             integration testing, but it hasn't really been a priority for the team.",
            451_700,
            493_700,
        ),
        (
            Interviewer,
            "Can you give me an example of a bug a test caught, or one that got through that a test should have \
             caught?",
            509_500,
            519_900,
        ),
        (
            Candidate,
            "Nothing very specific comes to mind for a test catching something. There was a time zone bug in \
             delivery windows that reached production, and we added a unit test for it afterwards. In general I test \
             the happy path and a couple of edge cases. I don't have a strict rule for deciding what needs an \
             integration test versus a unit test; it's more of a judgment call each time.",
            521_700,
            563_700,
        ),
        (
            Interviewer,
            "Tell me about a production incident you were involved in. What happened, and what changed afterwards?",
            576_100,
            583_300,
        ),
        (
            Candidate,
            "The one I remember best was a 2 a.m. outage last year. I was on call and got paged because the order \
             API was returning errors for almost every request. Traffic looked normal, but our request rate to the \
             payment provider had tripled. The provider had slowed down, and we had retries at three layers, the \
             client, our service and the HTTP library, each retrying three times without backoff. That turned a \
             slowdown into a runaway retry storm that exhausted our connection pool. I turned retries off with a \
             feature flag, the pool recovered, and we were back after forty-seven minutes.",
            586_900,
            647_500,
        ),
        (
            Interviewer,
            "What came out of the postmortem, and which of the follow-up actions made the biggest difference?",
            668_900,
            676_100,
        ),
        (
            Candidate,
            "I wrote the postmortem and we kept it blameless, because the retry settings had been added by three \
             different people for good reasons. The actions were: a single retry layer with exponential backoff and \
             jitter, a retry budget per service, and circuit breakers around the payment provider so we fail fast \
             and queue the payment instead. We also added alerts on connection pool saturation and on error rate per \
             dependency, rather than only on CPU. Three months later the provider had another slowdown, the circuit \
             breaker opened, orders were queued, and nobody got woken up.",
            677_900,
            734_900,
        ),
        (
            Interviewer,
            "How is on-call organized on your team, and have you changed anything about it?",
            750_700,
            757_000,
        ),
        (
            Candidate,
            "It's a weekly rotation across the six of us, with a secondary for escalation. When I joined we were \
             getting around twenty-five pages a week, and most were noise. I started a short alert review every \
             Monday where we look at each page from the previous week and decide whether it was actionable. We \
             deleted or downgraded the noisy alerts, wrote runbooks for the rest and tied the important ones to \
             SLOs. We're now at about six pages a week, and handovers include written notes on anything still open.",
            758_800,
            812_200,
        ),
        (
            Interviewer,
            "Describe a time you helped a teammate grow, for example through mentoring or code review.",
            836_500,
            843_300,
        ),
        (
            Candidate,
            "Last year a junior engineer, Jordan, joined the team straight out of a bootcamp. We paired for an hour \
             twice a week, and I gave Jordan small, well-scoped pull requests on the pipeline first. I also changed \
             how I do code review: I label comments as nit, question or blocking, and I explain why rather than just \
             rewriting the code. Early on I noticed my reviews were long and discouraging, so I switched to a quick \
             call for anything bigger. After about four months Jordan built our consumer lag dashboard and led their \
             first design review.",
            846_900,
            904_500,
        ),
        (
            Interviewer,
            "How do you handle code review disagreements with peers, not only with junior engineers?",
            916_900,
            923_200,
        ),
        (
            Candidate,
            "My rule is that if a thread goes back and forth twice, we move to a call instead of writing more \
             comments. We had a disagreement about using an ORM versus plain SQL for the reporting queries. Rather \
             than argue, we benchmarked both on a copy of production data; the plain SQL was four times faster on \
             the heavy queries, so we used it there and kept the ORM elsewhere. We wrote the decision down in a \
             short architecture decision record so we don't have the same debate again.",
            927_400,
            980_800,
        ),
        (
            Interviewer,
            "Tell me about a time a project you owned slipped or went wrong. How did you handle it?",
            993_200,
            1_001_300,
        ),
        (
            Candidate,
            "The Kafka migration slipped. I estimated six weeks, and in week four I found that the billing reports \
             still read from the old polling tables, which nobody had documented. I told our product manager that \
             same day instead of hoping to catch up, and gave two options: slip everything by three weeks, or cut \
             scope and migrate order events first and billing later. We chose the phased plan. Order events shipped \
             two weeks late and billing moved a month after that. It was my estimate, so I owned explaining it to \
             the billing team as well.",
            1_003_700,
            1_061_300,
        ),
        (Interviewer, "Looking back, what would you do differently on the estimate itself?", 1_078_200, 1_083_200),
        (
            Candidate,
            "I would spend the first week inventorying every consumer of the data before committing to a date, which \
             is what we now call a dependency spike on the team. I'd also give a range with a confidence level \
             rather than a single number, and break the work into milestones that deliver something on their own, so \
             a slip in one part doesn't hold up everything else. Since then our estimates have been much closer, and \
             product gets fewer surprises.",
            1_088_500,
            1_135_900,
        ),
        (
            Interviewer,
            "That covers my questions. What would you like to ask me about the team or the role?",
            1_160_200,
            1_167_800,
        ),
        (
            Candidate,
            "Two things, if that's all right. First, what does the on-call load look like for the platform team, \
             roughly how many pages a week? And second, how do you make room for technical debt, is it planned into \
             each sprint or handled separately? I'd also be curious how design reviews work, whether they're written \
             documents or meetings.",
            1_169_600,
            1_203_800,
        ),
        (
            Interviewer,
            "We rotate weekly across eight engineers with about five pages a week, and one sprint in six goes to \
             debt. Design reviews start as a written doc. Thanks, Alex, the recruiter will follow up this week.",
            1_228_100,
            1_244_300,
        ),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use app::interviews::MAX_SEGMENT_CHARS;

    fn candidate_text() -> String {
        transcript().into_iter().filter(|s| s.0 == Speaker::Candidate).map(|s| s.1).collect::<Vec<_>>().join("\n")
    }

    #[test]
    fn offsets_are_ordered_and_do_not_overlap() {
        let segments = transcript();
        assert!((26..=32).contains(&segments.len()), "{} segments", segments.len());
        let mut previous_end = 0;
        for (speaker, text, start, end) in &segments {
            assert!(*start >= previous_end, "{speaker:?} segment at {start} starts before {previous_end}: {text}");
            assert!(end > start, "{speaker:?} segment at {start} is empty");
            previous_end = *end;
        }
        let minutes = previous_end / 60_000;
        assert!((18..=26).contains(&minutes), "{minutes} minutes");
    }

    #[test]
    fn speakers_alternate_and_the_candidate_talks_enough() {
        let segments = transcript();
        assert_eq!(segments.first().map(|s| s.0), Some(Speaker::Interviewer));
        assert!(segments.windows(2).all(|w| w[0].0 != w[1].0), "speakers must alternate");
        assert!(segments.iter().filter(|s| s.0 == Speaker::Candidate).count() >= 12);
    }

    #[test]
    fn candidate_answers_hold_the_searchable_moments() {
        let text = candidate_text();
        for needle in ["Kafka", "postmortem", "40 million rows", "900 ms to 120 ms", "2 a.m.", "circuit breaker"] {
            assert!(text.contains(needle), "no {needle:?} in the candidate's answers");
        }
    }

    #[test]
    fn segments_fit_the_segment_limit() {
        for (_, text, _, _) in transcript() {
            assert!(!text.trim().is_empty());
            assert!(text.chars().count() < MAX_SEGMENT_CHARS);
            assert!(text.chars().count() < 10_000);
        }
    }

    /// The demo's coverage insight should find every planned question asked.
    #[test]
    fn the_interviewer_asks_every_planned_question() {
        let Some(template) = crate::meetmind::templates::template("backend_engineer") else {
            panic!("no backend_engineer template");
        };
        let asked: Vec<&str> = transcript().into_iter().filter(|s| s.0 == Speaker::Interviewer).map(|s| s.1).collect();
        for question in &template.plan {
            assert!(asked.iter().any(|a| a.contains(question.text.as_str())), "never asked: {}", question.text);
        }
    }
}
