//! Fault plans: timed faults as data.
//!
//! A [`FaultPlan`] is a list of [`TimedFault`]s. It is plain serde data so that a plan
//! can be generated from a seed, written to a file, read back, edited by hand, shrunk
//! and replayed. In JSON:
//!
//! ```json
//! {"faults": [
//!   {"at": 100000000, "fault": {"partition": {"cut": [[0, 1], [1, 0]]}}},
//!   {"at": 200000000, "fault": {"crash": {"node": 2}}},
//!   {"at": 300000000, "fault": {"restart": {"node": 2}}},
//!   {"at": 400000000, "fault": "heal-all"}
//! ]}
//! ```

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::clock::MAX_DRIFT_PPM;
use crate::{LinkConfig, NodeId, Partition, Time};

/// One fault.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub enum Fault {
    /// The node stops: volatile state, pending timers and unsynced durable writes are
    /// lost, and messages to it are dropped. Without a later restart: crash-stop.
    Crash {
        /// The node.
        node: NodeId,
    },
    /// The node boots again from its synced durable state (crash-restart). A node that
    /// is up is crashed first (a reboot).
    Restart {
        /// The node.
        node: NodeId,
    },
    /// The node stops handling events but loses nothing (a GC pause, SIGSTOP); what
    /// arrives meanwhile waits for it.
    Pause {
        /// The node.
        node: NodeId,
    },
    /// A paused node handles what waited for it, in arrival order, then goes on.
    Resume {
        /// The node.
        node: NodeId,
    },
    /// Cuts the partition's links until a `heal` of the same partition (or `heal-all`).
    Partition(Partition),
    /// Heals the links that one earlier `partition` fault cut.
    Heal(Partition),
    /// Heals every cut link.
    HealAll,
    /// Moves a node's clock by `delta_ns` (negative: backwards).
    ClockJump {
        /// The node.
        node: NodeId,
        /// How far, in nanoseconds.
        delta_ns: i64,
    },
    /// Sets a node's clock drift, in parts per million (within ±500,000).
    ClockDrift {
        /// The node.
        node: NodeId,
        /// The new drift.
        drift_ppm: i64,
    },
    /// Sets the config of every link (for example, a burst of loss), until changed.
    AllLinks(LinkConfig),
    /// Multiplies a node's service times by `factor` (see [`crate::Capacity`]) until
    /// another slowdown of it; `factor` 1 ends a slowdown. The kernel does nothing
    /// else for it: a node without a capacity runs as before (though reports still
    /// count the spell as a fault window).
    Slowdown {
        /// The node.
        node: NodeId,
        /// The multiplier: finite, above zero.
        factor: f64,
    },
    /// Multiplies the rate at which a scenario's open-loop operations arrive by
    /// `factor`, until another surge; `factor` 1 ends one. It is the workload's
    /// business, not the kernel's: the kernel does nothing for it, and a scenario
    /// reads the plan's surges when it draws arrivals (a closed loop has no rate to
    /// multiply).
    Surge {
        /// The multiplier: finite, above zero, at most [`Fault::MAX_SURGE`].
        factor: f64,
    },
    /// Sets the config of one directed link, until changed.
    Link {
        /// Sending end.
        source: NodeId,
        /// Receiving end.
        target: NodeId,
        /// The new config.
        config: LinkConfig,
    },
}

impl Fault {
    /// The largest surge: a hundred times the usual rate.
    pub const MAX_SURGE: f64 = 100.0;
}

/// A fault and when it strikes (true simulated time).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TimedFault {
    /// When the fault strikes.
    pub at: Time,
    /// What happens.
    pub fault: Fault,
}

/// A list of timed faults. Faults at the same instant strike in list order.
///
/// ```
/// use sim_core::{Duration, Fault, FaultPlan, NodeId, Time};
/// let mut plan = FaultPlan::default();
/// plan.push(Time::ZERO + Duration::from_millis(50), Fault::Crash { node: NodeId(1) });
/// plan.push(Time::ZERO + Duration::from_millis(90), Fault::Restart { node: NodeId(1) });
/// let text = plan.to_json();
/// assert_eq!(FaultPlan::from_json_str(&text)?, plan);
/// plan.validate(3)?;
/// # Ok::<(), sim_core::PlanError>(())
/// ```
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FaultPlan {
    /// The faults, in any order of time.
    pub faults: Vec<TimedFault>,
}

/// Why a fault plan could not be read or used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PlanError {
    /// The file could not be read.
    #[error("{path}: cannot read fault plan: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// What the OS said.
        source: std::io::Error,
    },
    /// The text is not a fault plan.
    #[error("{origin}:{line}:{column}: not a valid fault plan: {message}")]
    Parse {
        /// The file, or `<string>`.
        origin: String,
        /// 1-based line.
        line: usize,
        /// 1-based column.
        column: usize,
        /// What was expected.
        message: String,
    },
    /// A fault does not fit the simulation.
    #[error("fault #{index} (at {at}): {message}")]
    Invalid {
        /// 0-based position in the plan.
        index: usize,
        /// When it was to strike.
        at: Time,
        /// What is wrong.
        message: String,
    },
}

impl FaultPlan {
    /// Adds a fault.
    pub fn push(&mut self, at: Time, fault: Fault) {
        self.faults.push(TimedFault { at, fault });
    }

    /// The plan as JSON, one fault per line.
    pub fn to_json(&self) -> String {
        let mut out = String::from("{\"faults\": [\n");
        for (i, fault) in self.faults.iter().enumerate() {
            let line = serde_json::to_string(fault).expect("a fault plan always serialises");
            out.push_str("  ");
            out.push_str(&line);
            out.push_str(if i + 1 < self.faults.len() {
                ",\n"
            } else {
                "\n"
            });
        }
        out.push_str("]}\n");
        out
    }

    /// Parses a plan from JSON text; errors name the line and column.
    pub fn from_json_str(text: &str) -> Result<FaultPlan, PlanError> {
        Self::parse(text, "<string>")
    }

    /// Reads a plan from a JSON file; errors name the file, line and column.
    pub fn load(path: &Path) -> Result<FaultPlan, PlanError> {
        let text = std::fs::read_to_string(path).map_err(|source| PlanError::Io {
            path: path.to_owned(),
            source,
        })?;
        Self::parse(&text, &path.display().to_string())
    }

    fn parse(text: &str, origin: &str) -> Result<FaultPlan, PlanError> {
        serde_json::from_str(text).map_err(|e| PlanError::Parse {
            origin: origin.to_owned(),
            line: e.line(),
            column: e.column(),
            message: e
                .to_string()
                .split(" at line ")
                .next()
                .unwrap_or("")
                .to_owned(),
        })
    }

    /// Checks every fault against a simulation of `processes` processes (replicas and
    /// clients): node ids in range, drifts within bounds, latency bounds ordered.
    pub fn validate(&self, processes: usize) -> Result<(), PlanError> {
        for (index, timed) in self.faults.iter().enumerate() {
            check_fault(&timed.fault, processes).map_err(|message| PlanError::Invalid {
                index,
                at: timed.at,
                message,
            })?;
        }
        Ok(())
    }
}

fn check_node(node: NodeId, processes: usize) -> Result<(), String> {
    if node.index() < processes {
        Ok(())
    } else {
        Err(format!(
            "node {node} does not exist (the simulation has n0..n{})",
            processes.saturating_sub(1)
        ))
    }
}

fn check_fault(fault: &Fault, processes: usize) -> Result<(), String> {
    match fault {
        Fault::Crash { node }
        | Fault::Restart { node }
        | Fault::Pause { node }
        | Fault::Resume { node }
        | Fault::ClockJump { node, .. } => check_node(*node, processes),
        Fault::ClockDrift { node, drift_ppm } => {
            check_node(*node, processes)?;
            if drift_ppm.abs() > MAX_DRIFT_PPM {
                return Err(format!(
                    "drift {drift_ppm} ppm is outside ±{MAX_DRIFT_PPM} ppm"
                ));
            }
            Ok(())
        }
        Fault::Partition(p) | Fault::Heal(p) => p.cut.iter().try_for_each(|&(s, t)| {
            check_node(s, processes)?;
            check_node(t, processes)
        }),
        Fault::HealAll => Ok(()),
        Fault::Slowdown { node, factor } => {
            check_node(*node, processes)?;
            if !(factor.is_finite() && *factor > 0.0) {
                return Err(format!(
                    "slowdown factor {factor} is not a finite number above zero"
                ));
            }
            Ok(())
        }
        Fault::Surge { factor } => {
            if !(factor.is_finite() && *factor > 0.0 && *factor <= Fault::MAX_SURGE) {
                return Err(format!(
                    "surge factor {factor} is not a number above zero and at most {}",
                    Fault::MAX_SURGE
                ));
            }
            Ok(())
        }
        Fault::AllLinks(config) => config.latency.validate(),
        Fault::Link {
            source,
            target,
            config,
        } => {
            check_node(*source, processes)?;
            check_node(*target, processes)?;
            config.latency.validate()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Duration;

    #[test]
    fn the_module_doc_example_parses() {
        let text = r#"{"faults": [
          {"at": 100000000, "fault": {"partition": {"cut": [[0, 1], [1, 0]]}}},
          {"at": 200000000, "fault": {"crash": {"node": 2}}},
          {"at": 300000000, "fault": {"restart": {"node": 2}}},
          {"at": 400000000, "fault": "heal-all"}
        ]}"#;
        let plan = FaultPlan::from_json_str(text).unwrap();
        assert_eq!(plan.faults.len(), 4);
        assert_eq!(plan.faults[1].fault, Fault::Crash { node: NodeId(2) });
        assert_eq!(plan.faults[3].at, Time::ZERO + Duration::from_millis(400));
    }

    #[test]
    fn a_parse_error_names_line_column_and_expectation() {
        let text = "{\"faults\": [\n  {\"at\": 5, \"fault\": {\"crush\": {\"node\": 1}}}\n]}";
        let err = FaultPlan::from_json_str(text).unwrap_err();
        let PlanError::Parse { line, message, .. } = &err else {
            panic!("expected a parse error, got {err:?}");
        };
        assert_eq!(*line, 2);
        assert!(message.contains("unknown variant `crush`"), "{message}");
        assert!(
            message.contains("crash"),
            "lists the valid faults: {message}"
        );
        assert!(err.to_string().starts_with("<string>:2:"), "{err}");
    }

    #[test]
    fn validation_rejects_unknown_nodes_and_wild_drift() {
        let mut plan = FaultPlan::default();
        plan.push(Time::ZERO, Fault::Crash { node: NodeId(1) });
        assert!(plan.validate(2).is_ok());
        assert!(plan.validate(1).is_err());
        plan.push(
            Time::ZERO,
            Fault::ClockDrift {
                node: NodeId(0),
                drift_ppm: 2_000_000,
            },
        );
        let err = plan.validate(2).unwrap_err();
        assert!(err.to_string().starts_with("fault #1"), "{err}");
    }

    #[test]
    fn a_plan_round_trips_through_json() {
        let nodes: Vec<NodeId> = (0..3).map(NodeId).collect();
        let mut plan = FaultPlan::default();
        plan.push(
            Time::from_nanos(1),
            Fault::Partition(Partition::isolate(NodeId(0), &nodes)),
        );
        plan.push(
            Time::from_nanos(2),
            Fault::ClockJump {
                node: NodeId(1),
                delta_ns: -5,
            },
        );
        plan.push(Time::from_nanos(3), Fault::AllLinks(LinkConfig::default()));
        plan.push(
            Time::from_nanos(4),
            Fault::Heal(Partition::isolate(NodeId(0), &nodes)),
        );
        plan.push(Time::from_nanos(5), Fault::Pause { node: NodeId(2) });
        plan.push(Time::from_nanos(6), Fault::Resume { node: NodeId(2) });
        assert_eq!(FaultPlan::from_json_str(&plan.to_json()).unwrap(), plan);
    }
}
