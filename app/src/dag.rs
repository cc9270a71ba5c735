//! Workflow graphs: the submitted shape and every check on it. Pure code
//! shared by the server (which enforces it) and the DAG editor in the
//! browser (which highlights the same errors as the user draws).

use std::{collections::HashMap, fmt};

use serde::{Deserialize, Serialize};

/// More nodes than this is refused with 413.
pub const MAX_NODES: usize = 10_000;
/// A job payload is at most 256 KiB of JSON.
pub const MAX_PAYLOAD_BYTES: usize = 256 * 1024;
pub const MAX_KEY_CHARS: usize = 128;
/// A workflow's name: shown in every list, so bounded.
pub const MAX_NAME_CHARS: usize = 200;
/// Priorities run from 0 (most urgent) to 9.
pub const MAX_PRIORITY: i16 = 9;

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EdgePolicy {
    /// The child and everything below it end `upstream_failed`.
    #[default]
    Fail,
    /// The child runs anyway.
    Continue,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JobSpec {
    pub key: String,
    pub kind: String,
    #[serde(default)]
    pub payload: serde_json::Value,
    #[serde(default)]
    pub queue: Option<String>,
    #[serde(default)]
    pub priority: Option<i16>,
    #[serde(default)]
    pub depends_on: Vec<String>,
    #[serde(default)]
    pub on_parent_failure: EdgePolicy,
    /// Per-parent overrides of `on_parent_failure`, so each edge can carry
    /// its own policy (the DAG editor sets them edge by edge).
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub edge_policies: std::collections::BTreeMap<String, EdgePolicy>,
}

impl JobSpec {
    /// The policy of the edge from `parent` to this job.
    pub fn policy_for(&self, parent: &str) -> EdgePolicy {
        self.edge_policies.get(parent).copied().unwrap_or(self.on_parent_failure)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WorkflowSpec {
    pub name: String,
    pub jobs: Vec<JobSpec>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DagError {
    #[error("a workflow needs a name of 1 to {MAX_NAME_CHARS} characters")]
    MissingName,
    #[error("a workflow needs at least one job")]
    Empty,
    #[error("{count} jobs is more than the {max} a workflow may hold")]
    TooManyNodes { count: usize, max: usize },
    #[error("job {index}: the key must be 1 to {MAX_KEY_CHARS} characters")]
    BadKey { index: usize },
    #[error("duplicate job key {0:?}")]
    DuplicateKey(String),
    #[error("job {key:?}: kind must not be empty")]
    MissingKind { key: String },
    #[error("job {key:?}: priority {priority} is outside 0..={MAX_PRIORITY}")]
    BadPriority { key: String, priority: i16 },
    #[error("job {key:?}: payload is {bytes} bytes, more than {MAX_PAYLOAD_BYTES}")]
    PayloadTooLarge { key: String, bytes: usize },
    #[error("job {job:?} depends on unknown key {missing:?}")]
    UnknownDependency { job: String, missing: String },
    #[error("cycle: {}", .0.join(" → "))]
    Cycle(Vec<String>),
}

impl DagError {
    /// The request field at fault, for the API's JSON error.
    pub fn field(&self) -> &'static str {
        match self {
            DagError::MissingName => "name",
            DagError::Empty | DagError::TooManyNodes { .. } => "jobs",
            DagError::BadKey { .. } | DagError::DuplicateKey(_) => "jobs[].key",
            DagError::MissingKind { .. } => "jobs[].kind",
            DagError::BadPriority { .. } => "jobs[].priority",
            DagError::PayloadTooLarge { .. } => "jobs[].payload",
            DagError::UnknownDependency { .. } | DagError::Cycle(_) => "jobs[].depends_on",
        }
    }

    /// `field` with the index of the job at fault in `spec` (the one
    /// `validate` reported on), e.g. `jobs[3].depends_on`.
    pub fn field_in(&self, spec: &WorkflowSpec) -> String {
        let position = |key: &str| spec.jobs.iter().position(|j| j.key == key);
        let index = match self {
            DagError::BadKey { index } => Some(*index),
            // The second job to use the key.
            DagError::DuplicateKey(key) => {
                spec.jobs.iter().enumerate().filter(|(_, j)| &j.key == key).nth(1).map(|(i, _)| i)
            }
            DagError::MissingKind { key }
            | DagError::BadPriority { key, .. }
            | DagError::PayloadTooLarge { key, .. } => position(key),
            DagError::UnknownDependency { job, .. } => position(job),
            // The cycle's path starts at a job whose depends_on closes it.
            DagError::Cycle(path) => path.first().and_then(|k| position(k)),
            DagError::MissingName | DagError::Empty | DagError::TooManyNodes { .. } => None,
        };
        match index {
            Some(i) => self.field().replacen("[]", &format!("[{i}]"), 1),
            None => self.field().to_string(),
        }
    }

    /// 413 for size limits, 422 for everything else.
    pub fn status(&self) -> u16 {
        match self {
            DagError::TooManyNodes { .. } | DagError::PayloadTooLarge { .. } => 413,
            _ => 422,
        }
    }
}

/// A validated graph: parents per node by index, and a topological order
/// (every node after all of its parents).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dag {
    pub parents: Vec<Vec<usize>>,
    pub order: Vec<usize>,
}

impl Dag {
    pub fn children(&self) -> Vec<Vec<usize>> {
        let mut children = vec![Vec::new(); self.parents.len()];
        for (child, parents) in self.parents.iter().enumerate() {
            for &p in parents {
                children[p].push(child);
            }
        }
        children
    }

    /// Priority inheritance: each job runs at the most urgent priority among
    /// itself and every job waiting on it, directly or further down, so an
    /// urgent job is never held up behind a lax dependency.
    pub fn inherited_priorities(&self, own: &[i16]) -> Vec<i16> {
        let children = self.children();
        let mut effective = own.to_vec();
        for &node in self.order.iter().rev() {
            for &child in &children[node] {
                effective[node] = effective[node].min(effective[child]);
            }
        }
        effective
    }
}

/// Checks a workflow as submitted. Cheap checks run first so the most
/// basic mistake is the one reported.
pub fn validate(spec: &WorkflowSpec) -> Result<Dag, DagError> {
    if spec.name.trim().is_empty() || spec.name.chars().count() > MAX_NAME_CHARS {
        return Err(DagError::MissingName);
    }
    if spec.jobs.is_empty() {
        return Err(DagError::Empty);
    }
    if spec.jobs.len() > MAX_NODES {
        return Err(DagError::TooManyNodes { count: spec.jobs.len(), max: MAX_NODES });
    }
    let mut index: HashMap<&str, usize> = HashMap::with_capacity(spec.jobs.len());
    for (i, job) in spec.jobs.iter().enumerate() {
        let chars = job.key.chars().count();
        if job.key.trim().is_empty() || chars > MAX_KEY_CHARS {
            return Err(DagError::BadKey { index: i });
        }
        if index.insert(job.key.as_str(), i).is_some() {
            return Err(DagError::DuplicateKey(job.key.clone()));
        }
        if job.kind.trim().is_empty() {
            return Err(DagError::MissingKind { key: job.key.clone() });
        }
        if let Some(p) = job.priority {
            if !(0..=MAX_PRIORITY).contains(&p) {
                return Err(DagError::BadPriority { key: job.key.clone(), priority: p });
            }
        }
        let bytes = serde_json::to_vec(&job.payload).map(|v| v.len()).unwrap_or(usize::MAX);
        if bytes > MAX_PAYLOAD_BYTES {
            return Err(DagError::PayloadTooLarge { key: job.key.clone(), bytes });
        }
    }
    let mut parents = Vec::with_capacity(spec.jobs.len());
    // `listed_by[p] == j`: job `p` is already one of job `j`'s parents. Linear,
    // where `Vec::contains` would be quadratic in a job's parents (thousands
    // fit in a body) and hold a server thread for seconds.
    let mut listed_by = vec![usize::MAX; spec.jobs.len()];
    for (j, job) in spec.jobs.iter().enumerate() {
        let mut mine: Vec<usize> = Vec::with_capacity(job.depends_on.len());
        for dep in &job.depends_on {
            let Some(&p) = index.get(dep.as_str()) else {
                return Err(DagError::UnknownDependency { job: job.key.clone(), missing: dep.clone() });
            };
            if listed_by[p] != j {
                listed_by[p] = j;
                mine.push(p);
            }
        }
        parents.push(mine);
        let is_parent = |k: &String| index.get(k.as_str()).is_some_and(|&p| listed_by[p] == j);
        if let Some(stray) = job.edge_policies.keys().find(|k| !is_parent(k)) {
            return Err(DagError::UnknownDependency { job: job.key.clone(), missing: stray.clone() });
        }
    }
    if let Some(cycle) = find_cycle(&parents) {
        let mut path: Vec<String> = cycle.iter().map(|&i| spec.jobs[i].key.clone()).collect();
        path.push(path[0].clone());
        return Err(DagError::Cycle(path));
    }
    let order = topological_order(&parents);
    Ok(Dag { parents, order })
}

/// The first cycle found following `depends_on` edges, as node indices
/// starting at the cycle's entry point. Iterative: deep graphs cannot
/// overflow the stack (the browser's is small).
fn find_cycle(parents: &[Vec<usize>]) -> Option<Vec<usize>> {
    #[derive(Clone, Copy, PartialEq)]
    enum Mark {
        New,
        OnPath,
        Done,
    }
    let mut mark = vec![Mark::New; parents.len()];
    for start in 0..parents.len() {
        if mark[start] != Mark::New {
            continue;
        }
        // (node, next parent to visit)
        let mut stack: Vec<(usize, usize)> = vec![(start, 0)];
        mark[start] = Mark::OnPath;
        while let Some(&mut (node, ref mut next)) = stack.last_mut() {
            if let Some(&p) = parents[node].get(*next) {
                *next += 1;
                match mark[p] {
                    Mark::New => {
                        mark[p] = Mark::OnPath;
                        stack.push((p, 0));
                    }
                    Mark::OnPath => {
                        let from = stack.iter().position(|(n, _)| *n == p).expect("on path");
                        return Some(stack[from..].iter().map(|(n, _)| *n).collect());
                    }
                    Mark::Done => {}
                }
            } else {
                mark[node] = Mark::Done;
                stack.pop();
            }
        }
    }
    None
}

/// Kahn's algorithm, stable: among ready nodes the earliest submitted first.
fn topological_order(parents: &[Vec<usize>]) -> Vec<usize> {
    let n = parents.len();
    let mut waiting: Vec<usize> = parents.iter().map(Vec::len).collect();
    let mut children = vec![Vec::new(); n];
    for (child, ps) in parents.iter().enumerate() {
        for &p in ps {
            children[p].push(child);
        }
    }
    let mut ready: std::collections::BTreeSet<usize> = (0..n).filter(|&i| waiting[i] == 0).collect();
    let mut order = Vec::with_capacity(n);
    while let Some(node) = ready.pop_first() {
        order.push(node);
        for &c in &children[node] {
            waiting[c] -= 1;
            if waiting[c] == 0 {
                ready.insert(c);
            }
        }
    }
    order
}

impl fmt::Display for EdgePolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            EdgePolicy::Fail => "fail",
            EdgePolicy::Continue => "continue",
        })
    }
}

/// The layer of each node for drawing a DAG left to right: one more than
/// its deepest parent (longest path from a root). `edges` are (parent,
/// child) keys; unknown keys are ignored, and a cycle is cut so that the
/// editor can still draw what the user has built.
pub fn layers(keys: &[String], edges: &[(String, String)]) -> Vec<usize> {
    let index: HashMap<&str, usize> = keys.iter().enumerate().map(|(i, k)| (k.as_str(), i)).collect();
    let mut layer = vec![0usize; keys.len()];
    // Bellman-Ford style relaxation, at most n rounds, so cycles terminate.
    for _ in 0..keys.len() {
        let mut changed = false;
        for (p, c) in edges {
            let (Some(&p), Some(&c)) = (index.get(p.as_str()), index.get(c.as_str())) else { continue };
            if layer[c] < layer[p] + 1 && layer[p] + 1 < keys.len() {
                layer[c] = layer[p] + 1;
                changed = true;
            }
        }
        if !changed {
            break;
        }
    }
    layer
}

#[cfg(test)]
mod tests {
    use super::*;

    fn job(key: &str, deps: &[&str]) -> JobSpec {
        JobSpec {
            key: key.into(),
            kind: "noop".into(),
            payload: serde_json::Value::Null,
            queue: None,
            priority: None,
            depends_on: deps.iter().map(|d| d.to_string()).collect(),
            on_parent_failure: EdgePolicy::Fail,
            edge_policies: Default::default(),
        }
    }

    #[test]
    fn each_edge_can_carry_its_own_policy() {
        let mut d = job("d", &["b", "c"]);
        d.edge_policies.insert("c".into(), EdgePolicy::Continue);
        assert_eq!(d.policy_for("b"), EdgePolicy::Fail);
        assert_eq!(d.policy_for("c"), EdgePolicy::Continue);
        assert!(validate(&spec(vec![job("a", &[]), job("b", &["a"]), job("c", &["a"]), d.clone()])).is_ok());
        d.edge_policies.insert("a".into(), EdgePolicy::Continue);
        let err = validate(&spec(vec![job("a", &[]), job("b", &["a"]), job("c", &["a"]), d])).unwrap_err();
        assert!(matches!(err, DagError::UnknownDependency { ref missing, .. } if missing == "a"), "{err:?}");
    }

    #[test]
    fn repeated_parents_collapse_to_one_edge_each() {
        // One parent listed 200,000 times collapses to one edge.
        let repeated = vec!["a"; 200_000];
        let dag = validate(&spec(vec![job("a", &[]), job("b", &repeated)])).unwrap();
        assert_eq!(dag.parents, vec![vec![], vec![0]]);
        // A sink depending on 5,000 jobs, each listed twice, with a policy on
        // each edge: every parent once, in the order first listed.
        let keys: Vec<String> = (0..5_000).map(|i| format!("j{i}")).collect();
        let mut jobs: Vec<JobSpec> = keys.iter().map(|k| job(k, &[])).collect();
        let both: Vec<&str> = keys.iter().chain(&keys).map(String::as_str).collect();
        let mut sink = job("sink", &both);
        sink.edge_policies = keys.iter().map(|k| (k.clone(), EdgePolicy::Continue)).collect();
        jobs.push(sink);
        let dag = validate(&spec(jobs)).unwrap();
        assert_eq!(dag.parents[5_000], (0..5_000).collect::<Vec<_>>());
    }

    #[test]
    fn layers_put_each_node_after_its_deepest_parent() {
        let keys = ["a", "b", "c", "d", "e"].map(String::from);
        let edges =
            [("a", "b"), ("a", "c"), ("b", "d"), ("c", "d"), ("a", "d")].map(|(p, c)| (p.to_string(), c.to_string()));
        assert_eq!(layers(&keys, &edges), vec![0, 1, 1, 2, 0]);
        // A cycle still gets a finite layout (the editor draws it red).
        let cyc = [("a", "b"), ("b", "a")].map(|(p, c)| (p.to_string(), c.to_string()));
        let l = layers(&keys[..2], &cyc);
        assert!(l.iter().all(|&x| x < 2), "{l:?}");
    }

    fn spec(jobs: Vec<JobSpec>) -> WorkflowSpec {
        WorkflowSpec { name: "wf".into(), jobs }
    }

    #[test]
    fn a_cycle_is_reported_with_its_path() {
        // a waits on c, c on b, b on a.
        let err =
            validate(&spec(vec![job("a", &["c"]), job("b", &["a"]), job("c", &["b"]), job("d", &[])])).unwrap_err();
        assert_eq!(err, DagError::Cycle(vec!["a".into(), "c".into(), "b".into(), "a".into()]));
        assert_eq!(err.to_string(), "cycle: a → c → b → a");
        assert_eq!(err.status(), 422);

        let err = validate(&spec(vec![job("x", &["x"])])).unwrap_err();
        assert_eq!(err.to_string(), "cycle: x → x");
    }

    #[test]
    fn unknown_and_duplicate_keys_are_named() {
        let err = validate(&spec(vec![job("a", &["ghost"])])).unwrap_err();
        assert_eq!(err, DagError::UnknownDependency { job: "a".into(), missing: "ghost".into() });
        assert_eq!(err.field(), "jobs[].depends_on");
        let err = validate(&spec(vec![job("a", &[]), job("a", &[])])).unwrap_err();
        assert_eq!(err, DagError::DuplicateKey("a".into()));
        assert!(err.to_string().contains("\"a\""));
    }

    #[test]
    fn size_limits_are_413() {
        let jobs: Vec<_> = (0..=MAX_NODES).map(|i| job(&format!("j{i}"), &[])).collect();
        let err = validate(&spec(jobs)).unwrap_err();
        assert_eq!(err.status(), 413);
        let mut big = job("a", &[]);
        big.payload = serde_json::Value::String("x".repeat(MAX_PAYLOAD_BYTES));
        assert_eq!(validate(&spec(vec![big])).unwrap_err().status(), 413);
    }

    #[test]
    fn other_field_errors() {
        let mut p = job("a", &[]);
        p.priority = Some(10);
        assert_eq!(validate(&spec(vec![p])).unwrap_err().field(), "jobs[].priority");
        let mut k = job("a", &[]);
        k.kind = " ".into();
        assert_eq!(validate(&spec(vec![k])).unwrap_err().field(), "jobs[].kind");
        assert_eq!(validate(&spec(vec![job("", &[])])).unwrap_err().field(), "jobs[].key");
        let bad = spec(vec![job("a", &[]), job("b", &["a"]), job("a", &[])]);
        assert_eq!(validate(&bad).unwrap_err().field_in(&bad), "jobs[2].key", "the second use of the key");
        let ghost = spec(vec![job("a", &[]), job("b", &["ghost"])]);
        assert_eq!(validate(&ghost).unwrap_err().field_in(&ghost), "jobs[1].depends_on");
        let looped = spec(vec![job("x", &[]), job("a", &["b"]), job("b", &["a"])]);
        let e = validate(&looped).unwrap_err();
        assert!(matches!(&e, DagError::Cycle(p) if p[0] == "a"), "{e}");
        assert_eq!(e.field_in(&looped), "jobs[1].depends_on");
        let unnamed = WorkflowSpec { name: String::new(), ..looped };
        assert_eq!(validate(&unnamed).unwrap_err().field_in(&unnamed), "name");
        assert_eq!(validate(&spec(vec![])).unwrap_err(), DagError::Empty);
        assert_eq!(
            validate(&WorkflowSpec { name: " ".into(), jobs: vec![job("a", &[])] }).unwrap_err(),
            DagError::MissingName
        );
        let long = "n".repeat(MAX_NAME_CHARS + 1);
        assert_eq!(
            validate(&WorkflowSpec { name: long, jobs: vec![job("a", &[])] }).unwrap_err(),
            DagError::MissingName
        );
    }

    #[test]
    fn order_puts_parents_first_and_deep_chains_do_not_overflow() {
        let dag = validate(&spec(vec![
            job("report", &["summary", "score"]),
            job("summary", &["fin"]),
            job("score", &["fin"]),
            job("fin", &[]),
        ]))
        .unwrap();
        assert_eq!(dag.order, vec![3, 1, 2, 0]);

        let chain: Vec<_> = (0..MAX_NODES)
            .map(|i| if i == 0 { job("n0", &[]) } else { job(&format!("n{i}"), &[&format!("n{}", i - 1)]) })
            .collect();
        let dag = validate(&spec(chain)).unwrap();
        assert_eq!(dag.order, (0..MAX_NODES).collect::<Vec<_>>());
    }

    #[test]
    fn urgent_children_lend_their_priority_to_every_ancestor() {
        // fin <- summary <- report(0); fin <- insights(9)
        let dag = validate(&spec(vec![
            job("fin", &[]),
            job("summary", &["fin"]),
            job("report", &["summary"]),
            job("insights", &["fin"]),
        ]))
        .unwrap();
        assert_eq!(dag.inherited_priorities(&[9, 9, 0, 9]), vec![0, 0, 0, 9]);
        assert_eq!(dag.inherited_priorities(&[5, 7, 8, 6]), vec![5, 7, 8, 6]);
    }

    #[test]
    fn the_submitted_json_shape_parses_with_defaults() {
        let s: WorkflowSpec = serde_json::from_str(
            r#"{"name":"w","jobs":[{"key":"a","kind":"noop","payload":{}},
                {"key":"b","kind":"noop","payload":{},"depends_on":["a"],"on_parent_failure":"continue"}]}"#,
        )
        .unwrap();
        assert_eq!(s.jobs[1].on_parent_failure, EdgePolicy::Continue);
        assert_eq!(s.jobs[0].on_parent_failure, EdgePolicy::Fail);
        assert!(validate(&s).is_ok());
    }
}

/// A workflow as lists and pages show it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WorkflowSummary {
    pub id: String,
    pub name: String,
    /// running, succeeded, failed or cancelled.
    pub state: String,
    pub total: i32,
    /// Jobs per state.
    pub counts: std::collections::BTreeMap<String, i64>,
    pub created_at_ms: i64,
    pub finished_at_ms: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WorkflowNode {
    pub job_id: i64,
    pub key: String,
    pub kind: String,
    pub queue: String,
    pub state: String,
    /// The priority it is dispatched at, after inheritance.
    pub priority: i32,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WorkflowEdge {
    pub parent: String,
    pub child: String,
    pub policy: EdgePolicy,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WorkflowDetail {
    #[serde(flatten)]
    pub summary: WorkflowSummary,
    pub nodes: Vec<WorkflowNode>,
    pub edges: Vec<WorkflowEdge>,
}

/// A workflow saved under a name, to run again.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WorkflowTemplate {
    pub id: String,
    pub name: String,
    pub spec: WorkflowSpec,
    pub created_by: String,
    pub created_at_ms: i64,
    pub updated_at_ms: i64,
}

/// A page of workflows (`GET /api/v1/workflows`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct WorkflowPage {
    pub workflows: Vec<WorkflowSummary>,
    /// Pass as `cursor` for the next (older) page (`created_ms:id`).
    pub next_cursor: Option<String>,
}

/// A submitted workflow: its id and its job ids by key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SubmittedWorkflow {
    pub id: String,
    pub jobs: std::collections::BTreeMap<String, i64>,
}
