//! Built-in rubric templates: behaviourally anchored competencies and a question plan per role.
//!
//! Descriptions and levels deliberately use the words candidates say when they answer (e.g.
//! "incidents", "on-call", "postmortem"), because the offline evidence finder matches transcript
//! segments to competencies by keywords from the name, the description and the levels.

use app::interviews::{Competency, PlannedQuestion, Rubric, RubricTemplate};

/// A competency; levels run from 1 (weakest) to 4 (strongest), each one observable behaviour.
fn c(key: &str, name: &str, description: &str, levels: [&str; 4]) -> Competency {
    Competency {
        key: key.to_string(),
        name: name.to_string(),
        description: description.to_string(),
        levels: levels.map(str::to_string),
    }
}

/// A planned question probing `competency` (None for warm-ups that probe nothing in particular).
fn q(text: &str, competency: Option<&str>) -> PlannedQuestion {
    PlannedQuestion { text: text.to_string(), competency: competency.map(str::to_string) }
}

fn t(key: &str, name: &str, competencies: Vec<Competency>, plan: Vec<PlannedQuestion>) -> RubricTemplate {
    RubricTemplate { key: key.to_string(), name: name.to_string(), rubric: Rubric { competencies }, plan }
}

/// The built-in templates, copied into an interview (and then editable there).
pub fn templates() -> Vec<RubricTemplate> {
    vec![backend_engineer(), product_manager(), customer_support()]
}

/// One built-in template by key, e.g. `backend_engineer`.
pub fn template(key: &str) -> Option<RubricTemplate> {
    templates().into_iter().find(|t| t.key == key)
}

fn backend_engineer() -> RubricTemplate {
    t(
        "backend_engineer",
        "Backend Engineer",
        vec![
            c(
                "system_design",
                "System design",
                "Designs services, APIs, databases and data pipelines for scale, latency, throughput and consistency, \
                 and reasons about architecture trade-offs, queues, caching, partitions and schema migrations.",
                [
                    "Describes a design only in generic terms; cannot name trade-offs or the constraints that drove \
                     it.",
                    "Explains the components of a system they worked on but picks technologies by habit and misses \
                     scaling or consistency limits until prompted.",
                    "Walks through a concrete architecture, names the trade-offs they made (e.g. consistency versus \
                     latency) and the bottleneck that motivated the design.",
                    "Designs for failure modes unprompted, quantifies trade-offs with numbers such as latency, \
                     throughput or data volume, and explains what they would measure to validate the design.",
                ],
            ),
            c(
                "coding_practices",
                "Coding practices",
                "Writes correct, readable, maintainable code: testing strategy (unit, integration, end-to-end), \
                 code review, refactoring, CI, and managing technical debt.",
                [
                    "Says testing happens \"where it makes sense\" but cannot describe what they test or why; treats \
                     code review as a formality.",
                    "Writes unit tests for the code they touch and follows team conventions, but cannot explain how \
                     they decide what to test or how tests catch regressions.",
                    "Describes a deliberate testing strategy across unit and integration tests, gives an example of \
                     a bug a test caught, and uses code review to improve design, not just style.",
                    "Shapes the team's testing and CI practices, explains the cost and benefit of each test layer, \
                     and pays down technical debt with measurable results.",
                ],
            ),
            c(
                "operations",
                "Operations and reliability",
                "Runs services in production: incidents, on-call, monitoring, alerts, dashboards, outages, \
                 postmortems, rollbacks, retries, circuit breakers and reliability.",
                [
                    "Has not been on call or describes an incident only as something that happened to them, with no \
                     diagnosis or follow-up.",
                    "Handled incidents by following a runbook or escalating, and can describe the symptoms but not \
                     the root cause or what changed afterwards.",
                    "Led the diagnosis of a production outage, explains the root cause, and wrote or drove a \
                     postmortem with concrete follow-up actions.",
                    "Turns incidents into systemic fixes (alerts, circuit breakers, load shedding, SLOs), shows the \
                     before-and-after numbers, and improves on-call for the whole team.",
                ],
            ),
            c(
                "collaboration",
                "Collaboration",
                "Works with teammates and other teams: mentoring, pairing, code review feedback, technical \
                 disagreements, sharing knowledge and helping others grow.",
                [
                    "Describes working mostly alone; talks about teammates only as sources of blockers or \
                     disagreements they won.",
                    "Helps when asked and gives review comments, but cannot name a concrete case where they changed \
                     how someone else worked.",
                    "Gives a specific example of mentoring or pairing with a teammate, including how they adapted \
                     their feedback and what the other person learned.",
                    "Deliberately grows others (mentoring plans, review norms, documentation), resolves technical \
                     disagreements with evidence, and can show the team's improvement.",
                ],
            ),
            c(
                "ownership",
                "Ownership",
                "Takes responsibility for outcomes: deadlines, scope, estimates, risks, communicating slips to \
                 product and stakeholders, and following through after launch.",
                [
                    "Attributes a missed deadline or failure to others and cannot say what they would do differently.",
                    "Acknowledges a slip but communicated it late or only when asked, and describes no change in how \
                     they plan or estimate.",
                    "Raised a risk or a deadline slip early with stakeholders, proposed options such as cutting \
                     scope, and delivered on the revised plan.",
                    "Owns the outcome end to end: surfaces risks before they become slips, makes the trade-off with \
                     product explicit, and changes the team's planning as a result.",
                ],
            ),
        ],
        vec![
            q("Tell me about your current role and the systems you work on.", None),
            q(
                "Walk me through the design of a system you built that had to scale. What trade-offs did you make?",
                Some("system_design"),
            ),
            q(
                "How do you make sure the code you ship is correct and maintainable? Tell me about your testing \
                 approach.",
                Some("coding_practices"),
            ),
            q(
                "Tell me about a production incident you were involved in. What happened, and what changed \
                 afterwards?",
                Some("operations"),
            ),
            q(
                "Describe a time you helped a teammate grow, for example through mentoring or code review.",
                Some("collaboration"),
            ),
            q(
                "Tell me about a time a project you owned slipped or went wrong. How did you handle it?",
                Some("ownership"),
            ),
        ],
    )
}

fn product_manager() -> RubricTemplate {
    t(
        "product_manager",
        "Product Manager",
        vec![
            c(
                "customer_discovery",
                "Customer discovery",
                "Understands customers and their problems: user research, customer interviews, usability tests, \
                 feedback, personas, jobs to be done and validating assumptions before building.",
                [
                    "Describes features in terms of what stakeholders asked for; cannot name a customer problem they \
                     validated.",
                    "Talks to customers occasionally or relies on sales feedback, but does not say how it changed \
                     what was built.",
                    "Ran customer interviews or usability tests for a specific problem and can explain an assumption \
                     the research disproved.",
                    "Runs continuous discovery, tests the riskiest assumption first with cheap prototypes, and shows \
                     how evidence killed or reshaped a roadmap item.",
                ],
            ),
            c(
                "prioritization",
                "Prioritization",
                "Decides what to build and what not to: roadmap, backlog, trade-offs, impact versus effort, saying \
                 no, scope and sequencing against strategy.",
                [
                    "Prioritizes by who asked loudest or most recently; cannot describe something they said no to.",
                    "Uses a framework such as impact versus effort mechanically, without tying it to goals or \
                     explaining the trade-offs made.",
                    "Explains a concrete roadmap decision, the options they rejected and why, and how they said no \
                     to a stakeholder.",
                    "Ties priorities to strategy and measurable goals, re-sequences the roadmap as evidence changes, \
                     and makes the cost of each trade-off explicit.",
                ],
            ),
            c(
                "metrics",
                "Metrics and data",
                "Defines success and measures it: metrics, KPIs, analytics, dashboards, A/B tests, experiments, \
                 conversion, retention and data-informed decisions.",
                [
                    "Cannot name the metric a launch was meant to move or says success was \"positive feedback\".",
                    "Names metrics after the fact and reads dashboards others built, but does not set targets or \
                     question the data.",
                    "Defines success metrics and targets before a launch, ran an A/B test or experiment, and \
                     explains what the results meant.",
                    "Chooses metrics that resist gaming, pairs them with guardrail metrics, and changed a decision \
                     because the data contradicted their intuition.",
                ],
            ),
            c(
                "stakeholder_management",
                "Stakeholder management",
                "Aligns engineering, design, sales, leadership and other stakeholders: communication, negotiation, \
                 conflict, influence without authority and keeping people informed.",
                [
                    "Describes stakeholders as obstacles, or escalates every disagreement instead of resolving it.",
                    "Keeps stakeholders informed with status updates but avoids conflict and cannot describe a \
                     disagreement they resolved.",
                    "Resolved a specific disagreement between teams by understanding each side's goals and reaching \
                     a decision everyone committed to.",
                    "Builds alignment before decisions are needed, influences leadership with evidence, and keeps \
                     trust when delivering unwelcome news.",
                ],
            ),
            c(
                "execution",
                "Execution",
                "Ships: requirements, specs, working with engineering on delivery, deadlines, launches, handling \
                 scope changes and following up after release.",
                [
                    "Hands over vague requirements and describes delivery problems as engineering's fault.",
                    "Writes specs and tracks progress, but reacts to slips late and rarely follows up after launch.",
                    "Writes clear specs with acceptance criteria, cuts scope to hit a date, and reviews results \
                     after the launch.",
                    "Anticipates delivery risks, sequences work into small releases, and runs launches whose \
                     follow-up measurably improves the product.",
                ],
            ),
        ],
        vec![
            q("Tell me about your current role and the product you work on.", None),
            q("Tell me about a time customer research changed what your team built.", Some("customer_discovery")),
            q("Describe a difficult prioritization decision. What did you say no to, and why?", Some("prioritization")),
            q("How did you measure the success of a recent launch, and what did the data tell you?", Some("metrics")),
            q(
                "Tell me about a disagreement with engineering or leadership and how you resolved it.",
                Some("stakeholder_management"),
            ),
            q("Walk me through a launch that did not go to plan. What did you do?", Some("execution")),
        ],
    )
}

fn customer_support() -> RubricTemplate {
    t(
        "customer_support",
        "Customer Support Specialist",
        vec![
            c(
                "customer_empathy",
                "Customer empathy",
                "Understands and acknowledges how the customer feels: frustrated or angry customers, listening, \
                 tone, patience, de-escalation and customer satisfaction (CSAT).",
                [
                    "Describes customers as difficult or wrong and focuses on policy rather than the customer's \
                     problem.",
                    "Is polite and apologizes, but responds with scripted phrases that do not reflect the \
                     customer's situation.",
                    "Acknowledges the customer's frustration specifically, de-escalates an angry customer, and \
                     explains how they kept the customer informed.",
                    "Reads the customer's underlying need, turns a complaint into a loyal customer, and can point \
                     to CSAT or feedback that shows it.",
                ],
            ),
            c(
                "troubleshooting",
                "Troubleshooting",
                "Diagnoses and solves problems: asking clarifying questions, reproducing issues, logs, knowledge \
                 base, root cause, bugs and workarounds.",
                [
                    "Tries fixes at random or escalates immediately without gathering information.",
                    "Follows the knowledge base step by step but gets stuck when the problem does not match an \
                     article.",
                    "Asks targeted clarifying questions, reproduces the issue, and separates a user error from a \
                     bug with evidence for engineering.",
                    "Finds root causes across several tickets, spots a pattern, and writes the workaround or \
                     knowledge base article others then use.",
                ],
            ),
            c(
                "written_communication",
                "Written communication",
                "Writes clear replies: emails, chat, tickets, macros, documentation and explaining technical \
                 issues in plain language.",
                [
                    "Gives an example reply that is unclear, uses internal jargon, or leaves the customer without a \
                     next step.",
                    "Writes correct replies but relies on templates and long explanations the customer has to \
                     decode.",
                    "Explains a technical issue in plain language with clear steps and a next action, adapting tone \
                     to the channel.",
                    "Writes replies and macros that reduce follow-up questions, and improved documentation or \
                     templates for the team.",
                ],
            ),
            c(
                "escalation_judgment",
                "Escalation judgment",
                "Knows when and how to escalate: policy exceptions, refunds, engineering or tier 2 escalation, \
                 bugs, security or privacy concerns and urgent outages.",
                [
                    "Escalates everything or nothing; cannot explain when a ticket needs tier 2 or engineering.",
                    "Escalates according to the rules but hands over tickets with missing context, or bends policy \
                     without checking.",
                    "Escalates with a complete summary, reproduction steps and impact, and explains a case where \
                     they made a reasoned policy exception.",
                    "Recognizes urgent patterns such as an outage or a security issue early, alerts the right team, \
                     and improves the escalation process.",
                ],
            ),
            c(
                "workload_management",
                "Workload management",
                "Handles volume and pressure: ticket queues, SLAs, response times, prioritizing urgent tickets, \
                 busy periods and staying organized.",
                [
                    "Works tickets in arrival order regardless of urgency and describes busy periods only as \
                     stressful.",
                    "Meets SLAs on a normal day but falls behind during spikes and does not adjust priorities.",
                    "Triages a queue by urgency and impact, keeps within SLAs during a busy period, and explains \
                     the trade-offs made.",
                    "Improves the team's handling of volume (triage rules, macros, self-service) with measurable \
                     effects on response times.",
                ],
            ),
        ],
        vec![
            q("Tell me about your current role and the customers you support.", None),
            q(
                "Tell me about a time you helped a frustrated or angry customer. What did you say and do?",
                Some("customer_empathy"),
            ),
            q("Walk me through how you troubleshot a problem you had never seen before.", Some("troubleshooting")),
            q(
                "How would you explain a technical issue to a customer who is not technical? Give an example.",
                Some("written_communication"),
            ),
            q(
                "Tell me about a ticket you escalated, or decided not to. How did you decide?",
                Some("escalation_judgment"),
            ),
            q(
                "Describe a busy period when the queue was far above normal. How did you prioritize?",
                Some("workload_management"),
            ),
        ],
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use app::interviews::{check_plan, check_rubric};
    use std::collections::HashSet;

    #[test]
    fn three_templates_with_unique_keys() {
        let all = templates();
        assert_eq!(all.len(), 3);
        let keys: HashSet<&str> = all.iter().map(|t| t.key.as_str()).collect();
        assert_eq!(keys.len(), all.len(), "template keys must be unique");
        for t in &all {
            let ck: HashSet<&str> = t.rubric.competencies.iter().map(|c| c.key.as_str()).collect();
            assert_eq!(ck.len(), t.rubric.competencies.len(), "{}: duplicate competency key", t.key);
            assert!((4..=5).contains(&t.rubric.competencies.len()), "{}", t.key);
            assert!((5..=6).contains(&t.plan.len()), "{}", t.key);
        }
    }

    #[test]
    fn templates_pass_the_interview_checks() {
        for t in templates() {
            assert!(check_rubric(&t.rubric).is_ok(), "{}: {:?}", t.key, check_rubric(&t.rubric));
            let plan = check_plan(&t.plan, Some(&t.rubric));
            assert!(plan.is_ok(), "{}: {plan:?}", t.key);
            for question in &t.plan {
                if let Some(key) = &question.competency {
                    assert!(
                        t.rubric.competencies.iter().any(|c| &c.key == key),
                        "{}: question {:?} names unknown competency {key}",
                        t.key,
                        question.text
                    );
                }
            }
        }
    }

    #[test]
    fn every_competency_is_probed_by_the_plan() {
        for t in templates() {
            for c in &t.rubric.competencies {
                assert!(t.plan.iter().any(|q| q.competency.as_deref() == Some(c.key.as_str())), "{}: {}", t.key, c.key);
            }
        }
    }

    #[test]
    fn lookup_by_key() {
        assert!(template("backend_engineer").is_some());
        assert!(template("product_manager").is_some());
        assert!(template("customer_support").is_some());
        assert!(template("nope").is_none());
    }
}
