//! How a claim reaches the most urgent available jobs when some queues are
//! left out (paused, or limited and claimed on their own).
//!
//! The plain claim walks `jobs_fetch_idx` (priority, run_at, id) and skips
//! the left-out queues' jobs one by one, so a paused queue's urgent backlog
//! stood in every claim's way (1M paused jobs: 150 ms a claim). When a
//! left-out queue holds available jobs, the claim instead merges the other
//! queues' ordered runs of `jobs_queue_fetch_idx` (queue, priority, run_at,
//! id): one arm per queue, read only as far as the merge needs.

/// The queues that hold available jobs: a skip scan of
/// `jobs_queue_fetch_idx`, one index probe per queue (both drivers). It
/// stops at `$1` queues: past `MAX_MERGED_QUEUES` and the left-out ones,
/// the claim walks whatever the rest hold.
pub(crate) const AVAILABLE_QUEUES_SQL: &str = "WITH RECURSIVE present(queue) AS (
        SELECT (SELECT queue FROM jobs WHERE state = 'available' ORDER BY queue LIMIT 1)
        UNION ALL
        SELECT (SELECT j.queue FROM jobs j WHERE j.state = 'available' AND j.queue > p.queue ORDER BY j.queue LIMIT 1)
        FROM present p WHERE p.queue IS NOT NULL)
     SELECT queue FROM present WHERE queue IS NOT NULL LIMIT $1";

/// How many queues the skip scan needs to see to choose, with `excluded`
/// queues left out.
pub(crate) fn scan_limit(excluded: usize) -> i64 {
    (MAX_MERGED_QUEUES + excluded + 1) as i64
}

/// Above this many queues to merge, the claim walks instead: each count of
/// arms is a statement of its own to prepare and plan.
pub(crate) const MAX_MERGED_QUEUES: usize = 32;

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ClaimPlan {
    /// Walk `jobs_fetch_idx`: no left-out queue has jobs in the way (or
    /// there are too many queues to merge).
    Walk,
    /// Every queue with available jobs is left out.
    Nothing,
    /// Merge these queues' runs.
    Merge(Vec<String>),
}

/// Chooses the claim's path from the queues holding available jobs.
pub(crate) fn claim_plan(present: &[String], exclude: &[String]) -> ClaimPlan {
    let included: Vec<String> = present.iter().filter(|q| !exclude.contains(q)).cloned().collect();
    if included.is_empty() {
        ClaimPlan::Nothing
    } else if included.len() == present.len() || included.len() > MAX_MERGED_QUEUES {
        ClaimPlan::Walk
    } else {
        ClaimPlan::Merge(included)
    }
}

/// The ids of the `$limit` most urgent available jobs of `arms` queues,
/// bound from `$first` on; `$now` and `$limit` name their parameters.
/// PostgreSQL merges ordered arms only when each is its own `ORDER BY …
/// LIMIT` subquery (`bounded`); SQLite merges plain arms as a compound
/// select, reading each only as far as needed.
pub(crate) fn merged_pick_sql(arms: usize, first: usize, now: &str, limit: &str, bounded: bool) -> String {
    let arm = |i: usize| {
        let plain = format!(
            "SELECT id, priority, run_at FROM jobs WHERE state = 'available' AND queue = ${} AND run_at <= {now}",
            first + i
        );
        if bounded {
            format!("({plain} ORDER BY priority, run_at, id LIMIT {limit})")
        } else {
            plain
        }
    };
    let union = (0..arms).map(arm).collect::<Vec<_>>().join(" UNION ALL ");
    if bounded {
        format!("SELECT id FROM ({union}) AS arms ORDER BY priority, run_at, id LIMIT {limit}")
    } else {
        format!("SELECT id FROM ({union} ORDER BY priority, run_at, id LIMIT {limit})")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn walks_when_nothing_left_out_holds_jobs() {
        assert_eq!(claim_plan(&names(&["a", "b"]), &[]), ClaimPlan::Walk);
        assert_eq!(claim_plan(&names(&["a", "b"]), &names(&["paused"])), ClaimPlan::Walk);
    }

    #[test]
    fn merges_the_others_when_a_left_out_queue_holds_jobs() {
        assert_eq!(
            claim_plan(&names(&["a", "held", "z"]), &names(&["held", "gone"])),
            ClaimPlan::Merge(names(&["a", "z"]))
        );
    }

    #[test]
    fn claims_nothing_when_every_queue_with_jobs_is_left_out() {
        assert_eq!(claim_plan(&names(&["held"]), &names(&["held"])), ClaimPlan::Nothing);
        assert_eq!(claim_plan(&[], &names(&["held"])), ClaimPlan::Nothing);
    }

    #[test]
    fn walks_past_too_many_queues_to_merge() {
        let many: Vec<String> = (0..=MAX_MERGED_QUEUES).map(|i| format!("q{i}")).collect();
        let mut present = many.clone();
        present.push("held".into());
        assert_eq!(claim_plan(&present, &names(&["held"])), ClaimPlan::Walk);
        present.truncate(MAX_MERGED_QUEUES);
        present.push("held".into());
        assert!(matches!(claim_plan(&present, &names(&["held"])), ClaimPlan::Merge(q) if q.len() == MAX_MERGED_QUEUES));
    }

    #[test]
    fn a_scan_cut_short_still_chooses_right() {
        // Cut at the limit, the queues seen are either all included (walk)
        // or more than can be merged (walk): never a merge that misses one.
        let excluded = names(&["held"]);
        let limit = scan_limit(excluded.len()) as usize;
        let seen: Vec<String> = (0..limit).map(|i| format!("q{i:03}")).collect();
        assert_eq!(claim_plan(&seen, &excluded), ClaimPlan::Walk);
        let mut seen_with_held = seen.clone();
        seen_with_held[0] = "held".into();
        assert_eq!(claim_plan(&seen_with_held, &excluded), ClaimPlan::Walk);
    }

    #[test]
    fn one_bound_arm_per_queue() {
        // As the drivers call it: queues bound from $6.
        let pg = merged_pick_sql(2, 6, "$3", "2 * $4", true);
        assert!(pg.contains("queue = $6") && pg.contains("queue = $7") && !pg.contains("queue = $8"), "{pg}");
        assert_eq!(pg.matches("LIMIT 2 * $4").count(), 3, "each arm and the merge: {pg}");
        let lite = merged_pick_sql(3, 6, "$3", "$4", false);
        assert!(lite.contains("queue = $8") && !lite.contains("queue = $9"), "{lite}");
        assert_eq!(lite.matches("LIMIT $4").count(), 1, "{lite}");
        assert_eq!(lite.matches("run_at <= $3").count(), 3, "{lite}");
    }
}
