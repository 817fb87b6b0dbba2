//! A self-contained HTML picture of a checked history: one lane per process, each
//! operation a bar from call to return, the linearization points of the longest
//! linearizable prefix (or of the witness), the impossible operation marked, and the
//! state after each point on hover. Above the lanes, the anomalies the history proves
//! outright — the dependency graph's cycles and session violations, and for registers
//! what real time alone shows — each with its operations outlined in the lanes. No scripts, no network, no external assets; every
//! value from the history is escaped, so a hostile value shows as text.

use std::collections::BTreeMap;
use std::fmt::Write;

use crate::check::Checked;
use crate::history::Value;
use crate::linear::Outcome;
use crate::shared::{describe_op, when};
use crate::spec::SpecName;

/// Escapes text for HTML element content and attribute values.
///
/// ```
/// assert_eq!(checkers::viz::escape("</script>&\"'"), "&lt;/script&gt;&amp;&quot;&#39;");
/// ```
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

const LANE: f64 = 34.0;
const LEFT: f64 = 90.0;
const WIDTH: f64 = 1100.0;
/// Keys drawn at most (violated keys first).
const MAX_KEYS: usize = 8;

/// The page for `checked`, read from `file`.
pub fn page(file: &str, checked: &Checked) -> String {
    let report = &checked.report;
    let verdict = format!("{:?}", report.verdict()).to_lowercase();
    let mut html = String::new();
    let _ = write!(
        html,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <title>consim check: {}</title><style>{}</style></head><body>\
         <h1>{} — {}</h1><p>{} operations, {} keys, model {}.</p>",
        escape(file),
        STYLE,
        escape(file),
        escape(&verdict),
        report.ops,
        report.keys.len(),
        checked.model.name()
    );
    let mut keys: Vec<&crate::linear::KeyResult> = report
        .keys
        .iter()
        .filter(|k| matches!(k.outcome, Outcome::Violation(_)))
        .collect();
    keys.extend(
        report
            .keys
            .iter()
            .filter(|k| !matches!(k.outcome, Outcome::Violation(_))),
    );
    let proofs = witnesses(checked);
    if !proofs.is_empty() {
        html.push_str("<h2>What the history proves</h2><ol>");
        for proof in &proofs {
            let _ = write!(html, "<li>{}</li>", escape(&proof.text));
        }
        html.push_str("</ol>");
    }
    let mut marked: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
    for (w, proof) in proofs.iter().enumerate() {
        for &op in &proof.ops {
            marked.entry(op).or_default().push(w + 1);
        }
    }
    for key in keys.iter().take(MAX_KEYS) {
        section(&mut html, checked, key, &marked);
    }
    if keys.len() > MAX_KEYS {
        let _ = write!(
            html,
            "<p>{} more keys not drawn.</p>",
            keys.len() - MAX_KEYS
        );
    }
    html.push_str("</body></html>\n");
    html
}

/// Witnesses drawn at most.
const MAX_WITNESSES: usize = 5;

/// What the picture shows as proof: the first anomalies `checked`'s history proves
/// outright (at most five, from [`crate::proof::proofs`]), each with its operations
/// (indices into `checked.operations`).
///
/// ```
/// use checkers::check::check_history;
/// use checkers::history::History;
/// use checkers::linear::Options;
/// let text = r#"{"process":0,"type":"invoke","f":"write","key":"x","value":1}
/// {"process":0,"type":"ok","f":"write","key":"x","value":1}
/// {"process":1,"type":"invoke","f":"read","key":"x","value":null}
/// {"process":1,"type":"ok","f":"read","key":"x","value":null}"#;
/// let history = History::from_jsonl(text, "h")?;
/// let checked = check_history(history, "h", None, &Options::default())?;
/// let found = checkers::viz::witnesses(&checked);
/// assert!(found[0].text.starts_with("stale-read: "));
/// assert_eq!(found[0].ops, vec![1, 0]); // the read, and the write it missed
/// assert_eq!(checkers::viz::impossible(&checked), vec![1]);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn witnesses(checked: &Checked) -> Vec<crate::proof::Proof> {
    let mut found = crate::proof::proofs(
        &checked.history,
        &checked.operations,
        checked.model == SpecName::ListAppend,
    );
    found.truncate(MAX_WITNESSES);
    found
}

/// The operation each violated key of `checked` cannot place (the one the picture
/// marks impossible), as indices into `checked.operations`, in key order (see
/// [`witnesses`] for an example).
pub fn impossible(checked: &Checked) -> Vec<usize> {
    checked
        .report
        .keys
        .iter()
        .filter_map(|k| match &k.outcome {
            Outcome::Violation(v) => v.blocking,
            _ => None,
        })
        .collect()
}

fn section(
    html: &mut String,
    checked: &Checked,
    key: &crate::linear::KeyResult,
    marked: &BTreeMap<usize, Vec<usize>>,
) {
    let name = key
        .key
        .as_ref()
        .map_or_else(|| "(single object)".to_owned(), Value::to_string);
    let (points, states, blocking, headline): (&[usize], &[String], Option<usize>, String) =
        match &key.outcome {
            Outcome::Linearizable { order, states } => (order, states, None, "linearizable".into()),
            Outcome::Violation(v) => (&v.prefix, &v.prefix_states, v.blocking, v.sentence.clone()),
            Outcome::Unknown { reason } => (&[], &[], None, format!("unknown: {reason}")),
        };
    let _ = write!(
        html,
        "<h2>key {}</h2><p class=\"headline\">{}</p>",
        escape(&name),
        escape(&headline)
    );
    let Some(lanes) = Lanes::new(checked, &key.key) else {
        return;
    };
    lanes.open(html);
    let linearized = Linearized::new(points, states);
    for &i in &lanes.ops {
        lanes.bar(html, i, blocking, marked.get(&i), &linearized);
    }
    lanes.points(html, &linearized);
    html.push_str("</svg>");
    if let Outcome::Violation(v) = &key.outcome {
        candidates(html, checked, v);
    }
}

/// The linearized operations (of a linearization, or of the longest linearizable
/// prefix), and the state after each.
struct Linearized<'a> {
    points: &'a [usize],
    states: &'a [String],
    /// Each linearized operation's place among the points.
    position: BTreeMap<usize, usize>,
}

impl<'a> Linearized<'a> {
    fn new(points: &'a [usize], states: &'a [String]) -> Self {
        let position = points.iter().enumerate().map(|(k, &op)| (op, k)).collect();
        Linearized {
            points,
            states,
            position,
        }
    }

    /// Where operation `i` is linearized, and the state after it.
    fn of(&self, i: usize) -> Option<(usize, &str)> {
        let &k = self.position.get(&i)?;
        Some((k, self.states.get(k).map_or("", String::as_str)))
    }
}

/// One key's picture: a lane per process, the key's events spread evenly across the
/// width, in order.
struct Lanes<'a> {
    checked: &'a Checked,
    ops: Vec<usize>,
    lanes: BTreeMap<u64, usize>,
    moments: Vec<usize>,
}

impl<'a> Lanes<'a> {
    /// `None` for a key without operations.
    fn new(checked: &'a Checked, key: &Option<Value>) -> Option<Self> {
        let ops: Vec<usize> = (0..checked.operations.len())
            .filter(|&i| checked.operations[i].key == *key)
            .collect();
        if ops.is_empty() {
            return None;
        }
        let lanes: BTreeMap<u64, usize> = ops
            .iter()
            .map(|&i| checked.operations[i].process)
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .enumerate()
            .map(|(lane, p)| (p, lane))
            .collect();
        let mut moments: Vec<usize> = ops
            .iter()
            .flat_map(|&i| {
                let op = &checked.operations[i];
                std::iter::once(op.call).chain(op.ret)
            })
            .collect();
        moments.sort_unstable();
        Some(Lanes {
            checked,
            ops,
            lanes,
            moments,
        })
    }

    fn x(&self, event: usize) -> f64 {
        let count = self.moments.len().max(1) as f64;
        let rank = self.moments.partition_point(|&m| m < event) as f64;
        LEFT + (rank + 0.5) / count * (WIDTH - LEFT - 20.0)
    }

    /// Where operation `i`'s bar starts and ends (at the right edge if it never
    /// returned), and the top of its lane.
    fn span(&self, i: usize) -> (f64, f64, f64) {
        let op = &self.checked.operations[i];
        let y = 20.0 + LANE * self.lanes[&op.process] as f64;
        (
            self.x(op.call),
            op.ret.map_or(WIDTH - 10.0, |r| self.x(r)),
            y,
        )
    }

    /// The picture's frame and the lanes' names.
    fn open(&self, html: &mut String) {
        let height = LANE * self.lanes.len() as f64 + 30.0;
        let _ = write!(
            html,
            "<svg width=\"{WIDTH}\" height=\"{height}\" xmlns=\"http://www.w3.org/2000/svg\">"
        );
        for (process, lane) in &self.lanes {
            let y = 20.0 + LANE * *lane as f64;
            let _ = write!(
                html,
                "<text x=\"4\" y=\"{:.1}\" class=\"lane\">process {process}</text>",
                y + 15.0
            );
        }
    }

    /// Operation `i` as a bar from call to return, with its tooltip.
    fn bar(
        &self,
        html: &mut String,
        i: usize,
        blocking: Option<usize>,
        witnesses: Option<&Vec<usize>>,
        linearized: &Linearized<'_>,
    ) {
        let op = &self.checked.operations[i];
        let (x0, x1, y) = self.span(i);
        let mut class = if Some(i) == blocking {
            "op impossible"
        } else if op.ret.is_none() {
            "op info"
        } else {
            "op"
        }
        .to_owned();
        let mut tip = format!(
            "{} by process {} {}",
            describe_op(op),
            op.process,
            when(&self.checked.history, op)
        );
        if let Some(ws) = witnesses {
            class += " witness";
            let numbers: Vec<String> = ws.iter().map(|w| format!("#{w}")).collect();
            tip += &format!("\nin what the history proves: {}", numbers.join(", "));
        }
        if let Some((k, state)) = linearized.of(i) {
            tip += &format!("\nlinearized #{}; then {state}", k + 1);
        }
        // A label only where it fits; the tooltip always has it.
        let label = describe_op(op);
        let fits = (x1 - x0) > 7.0 * label.chars().count() as f64 + 8.0;
        let text = if fits {
            format!(
                "<text x=\"{:.1}\" y=\"{:.1}\" class=\"label\">{}</text>",
                x0 + 8.0,
                y + 15.0,
                escape(&label)
            )
        } else {
            String::new()
        };
        let _ = write!(
            html,
            "<g><title>{}</title><rect class=\"{class}\" x=\"{x0:.1}\" y=\"{y:.1}\" width=\"{:.1}\" height=\"22\" rx=\"3\"/>{text}</g>",
            escape(&tip),
            (x1 - x0).max(2.0),
        );
    }

    /// Linearization points: in order, each inside its operation's bar.
    fn points(&self, html: &mut String, linearized: &Linearized<'_>) {
        let mut last = 0.0f64;
        for (k, &i) in linearized.points.iter().enumerate() {
            let op = &self.checked.operations[i];
            let (x0, x1, y) = self.span(i);
            let px = last.max(x0 + 2.0).min(x1 - 2.0).max(x0);
            last = px + 1.0;
            let _ = write!(
                html,
                "<g><title>{}</title><circle class=\"point\" cx=\"{px:.1}\" cy=\"{:.1}\" r=\"4\"/></g>",
                escape(&format!(
                    "#{}: {}; then {}",
                    k + 1,
                    describe_op(op),
                    linearized.states.get(k).map_or("", String::as_str)
                )),
                y + 11.0
            );
        }
    }
}

/// What could come after the longest linearizable prefix, and why each cannot.
fn candidates(html: &mut String, checked: &Checked, v: &crate::linear::Violation) {
    let _ = write!(
        html,
        "<p>State after the longest linearizable prefix ({} operations): {}.</p><ul>",
        v.prefix.len(),
        escape(&v.state)
    );
    for c in &v.candidates {
        let op = &checked.operations[c.op];
        let why = c
            .impossible
            .clone()
            .unwrap_or_else(|| "possible here, but every continuation fails later".into());
        let _ = write!(
            html,
            "<li>{} by process {}: {}</li>",
            escape(&describe_op(op)),
            op.process,
            escape(&why)
        );
    }
    html.push_str("</ul>");
}

const STYLE: &str = "body{font-family:sans-serif;margin:1.5em;color:#222}\
h1{font-size:1.3em}h2{font-size:1.1em;margin-top:1.5em}.headline{font-weight:bold}\
svg{border:1px solid #ddd;background:#fcfcfc}.lane{font-size:12px;fill:#555}\
.op{fill:#cfe2ff;stroke:#6c8ebf}.op.info{fill:#eee;stroke:#999;stroke-dasharray:4 2}\
.op.impossible{fill:#f8c4c4;stroke:#c00;stroke-width:2}.label{font-size:11px;pointer-events:none}\
.point{fill:#1a7f37;stroke:#fff}.op.witness{stroke:#d97706;stroke-width:3}";
