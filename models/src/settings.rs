//! Settings: what a model lets its user set, declared once.
//!
//! A model's settings are a plain struct (`RaftSettings { election_ms: 150, … }`)
//! declared with the [`settings!`](crate::settings!) macro, which writes, from one line
//! per setting, the field, its default, the name the command line takes
//! (`--param election-ms=200`, `--models raft:election-ms=200`), the range it accepts,
//! the range property tests explore, and its doc. `consim list` prints them, `--param`
//! is read through them (an unknown name, a value of the wrong type or out of range is
//! refused in the user's own words), and the proptest strategies draw from them. A
//! setting whose default depends on others (`r`: a majority of the replicas) is an
//! `Option`, `None` by default, resolved when the model is built.
//!
//! ```
//! models::settings! {
//!     /// A store's settings.
//!     pub struct StoreSettings {
//!         /// How many replicas.
//!         "replicas" replicas: usize = 3, in 1..=9;
//!         /// Read quorum (default: a majority of the replicas).
//!         "r" r: Option<usize> = None, in 1..=9;
//!         /// Whether reads may be stale.
//!         "stale-reads" stale_reads: bool = false;
//!         /// Answer writes before they are durable (a bug).
//!         bug "ack-early" ack_early: bool = false;
//!     }
//! }
//! use models::settings::Settings;
//! let mut params = models::Params::default();
//! params.settings.insert("r".into(), "2".into());
//! let s = StoreSettings::from_params("store", &params)?;
//! assert_eq!((s.replicas, s.r, s.stale_reads), (3, Some(2), false));
//! assert!(StoreSettings::DECLARED[3].bug && !StoreSettings::DECLARED[2].bug);
//! params.settings.insert("r".into(), "10".into());
//! let err = StoreSettings::from_params("store", &params).unwrap_err().to_string();
//! assert!(err.contains("`r` is `10`; it takes a whole number from 1 to 9"), "{err}");
//! # Ok::<(), models::ModelError>(())
//! ```

use std::collections::BTreeMap;

use serde::Serialize;

use crate::{ModelError, Params};

/// What kind of value a setting takes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Kind {
    /// A whole number in the setting's range.
    Count,
    /// A whole number in the setting's range, or unset (a default derived from others).
    OptionalCount,
    /// `true` or `false`.
    Flag,
}

/// One setting, as the command line and `consim list` show it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct SettingInfo {
    /// The name `--param NAME=VALUE` takes.
    pub name: &'static str,
    /// What it does.
    pub doc: &'static str,
    /// What kind of value it takes.
    pub kind: Kind,
    /// The values it accepts, `(lowest, highest)` (counts only).
    pub range: (u64, u64),
    /// The values property tests draw it from, within `range`.
    pub explore: (u64, u64),
    /// Its default, as written in the declaration (`None`: derived from others).
    pub default: &'static str,
    /// Whether it is a bug: a flag, off by default, that makes the model break its
    /// promises on purpose (`--bug NAME` switches it on; property tests leave it off).
    pub bug: bool,
}

impl SettingInfo {
    /// What it accepts, in words: "a whole number from 1 to 9", "true or false".
    ///
    /// ```
    /// use models::settings::{Kind, SettingInfo};
    /// let info = SettingInfo { name: "n", doc: "", kind: Kind::Count, range: (1, 1),
    ///     explore: (1, 1), default: "1", bug: false };
    /// assert_eq!(info.accepts(), "exactly 1");
    /// ```
    pub fn accepts(&self) -> String {
        match self.kind {
            Kind::Flag => "true or false".to_owned(),
            Kind::Count | Kind::OptionalCount if self.range.0 == self.range.1 => {
                format!("exactly {}", self.range.0)
            }
            Kind::Count | Kind::OptionalCount => {
                format!("a whole number from {} to {}", self.range.0, self.range.1)
            }
        }
    }
}

/// A type a setting may have.
pub trait Value: Sized {
    /// Its kind.
    const KIND: Kind;
    /// `text` as a value of this type, if it is one.
    fn parse(text: &str) -> Option<Self>;
    /// Whether it is within `range` (flags always are).
    fn within(&self, range: (u64, u64)) -> bool;
    /// As text (`None`: unset).
    fn render(&self) -> Option<String>;
}

macro_rules! count_value {
    ($($t:ty),*) => {$(
        impl Value for $t {
            const KIND: Kind = Kind::Count;
            fn parse(text: &str) -> Option<Self> {
                text.trim().parse().ok()
            }
            fn within(&self, (low, high): (u64, u64)) -> bool {
                u64::try_from(*self).is_ok_and(|v| low <= v && v <= high)
            }
            fn render(&self) -> Option<String> {
                Some(self.to_string())
            }
        }

        impl Value for Option<$t> {
            const KIND: Kind = Kind::OptionalCount;
            fn parse(text: &str) -> Option<Self> {
                <$t as Value>::parse(text).map(Some)
            }
            fn within(&self, range: (u64, u64)) -> bool {
                self.is_none_or(|v| v.within(range))
            }
            fn render(&self) -> Option<String> {
                self.map(|v| v.to_string())
            }
        }
    )*};
}

count_value!(u64, usize, u32);

impl Value for bool {
    const KIND: Kind = Kind::Flag;
    fn parse(text: &str) -> Option<Self> {
        text.trim().parse().ok()
    }
    fn within(&self, _: (u64, u64)) -> bool {
        true
    }
    fn render(&self) -> Option<String> {
        Some(self.to_string())
    }
}

/// A model's settings: a struct the [`settings!`](crate::settings!) macro declares.
pub trait Settings: Sized + Clone + std::fmt::Debug + Default + PartialEq {
    /// Every setting, in declaration order.
    const DECLARED: &'static [SettingInfo];

    /// Sets the setting called `name` from `text`: `Ok(false)` if there is no such
    /// setting, `Err` (what is wrong, in words) if the text is not a value it takes.
    fn set(&mut self, name: &str, text: &str) -> Result<bool, String>;

    /// Every setting's value as text (`None`: unset), in declaration order.
    fn values(&self) -> Vec<(&'static str, Option<String>)>;

    /// The defaults with `params` applied: every key must name a setting, and every
    /// value must be one it takes; `model` names the model in the error.
    fn from_params(model: &'static str, params: &Params) -> Result<Self, ModelError> {
        let mut settings = Self::default();
        for (name, text) in &params.settings {
            let bad = |problem: String| ModelError::BadParam {
                model,
                param: name.clone(),
                problem,
            };
            match settings.set(name, text) {
                Ok(true) => {}
                Ok(false) => {
                    let names: Vec<&str> = Self::DECLARED.iter().map(|s| s.name).collect();
                    let problem = if names.is_empty() {
                        format!("is not a setting: {model} has none")
                    } else {
                        format!(
                            "is not a setting of {model}; its settings are {}",
                            names.join(", ")
                        )
                    };
                    return Err(bad(problem));
                }
                Err(problem) => return Err(bad(problem)),
            }
        }
        Ok(settings)
    }

    /// The settings that differ from the defaults, as `--param` would set them.
    fn changes(&self) -> Params {
        let defaults = Self::default().values();
        let settings: BTreeMap<String, String> = self
            .values()
            .into_iter()
            .zip(defaults)
            .filter(|(mine, default)| mine.1 != default.1)
            .filter_map(|((name, value), _)| Some((name.to_owned(), value?)))
            .collect();
        Params { settings }
    }
}

/// Sets one setting from text, for the [`settings!`](crate::settings!) macro: `text`
/// parsed as a `T`, in `info`'s range, or what is wrong.
pub fn parse<T: Value>(info: &SettingInfo, text: &str) -> Result<T, String> {
    T::parse(text)
        .filter(|v| v.within(info.range))
        .ok_or_else(|| format!("is `{text}`; it takes {}", info.accepts()))
}

/// Declares a model's settings: a struct with one field per setting, its defaults,
/// and its [`Settings`] impl, from one line per setting:
///
/// ```text
/// /// Doc.
/// "name" field: type = default, in LOW..=HIGH, explore LOW..=HIGH;
/// ```
///
/// `in` is required for counts (`u64`, `usize`, `u32`, or an `Option` of one) and
/// absent for flags (`bool`); `explore` (the values property tests draw) defaults to
/// the whole range. A flag that plants a bug is marked so, and defaults to `false`:
///
/// ```text
/// /// Doc.
/// bug "name" field: bool = false;
/// ```
///
/// See [the module docs](crate::settings) for an example.
#[macro_export]
macro_rules! settings {
    (
        $(#[$meta:meta])*
        $vis:vis struct $name:ident {
            $(
                $(#[doc = $doc:expr])*
                $($bug:ident)? $key:literal $field:ident : $ty:ty = $default:expr
                    $(, in $low:literal ..= $high:literal)?
                    $(, explore $elow:literal ..= $ehigh:literal)?;
            )*
        }
    ) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        $vis struct $name {
            $(
                $(#[doc = $doc])*
                pub $field: $ty,
            )*
        }

        impl Default for $name {
            fn default() -> Self {
                $name { $($field: $default,)* }
            }
        }

        impl $crate::settings::Settings for $name {
            const DECLARED: &'static [$crate::settings::SettingInfo] = &[$(
                $crate::settings::SettingInfo {
                    name: $key,
                    doc: concat!($($doc),*),
                    kind: <$ty as $crate::settings::Value>::KIND,
                    range: $crate::settings!(@or ($(($low, $high))?) ((0, 1))),
                    explore: $crate::settings!(
                        @or ($(($elow, $ehigh))?) ($crate::settings!(@or ($(($low, $high))?) ((0, 1))))
                    ),
                    default: stringify!($default),
                    bug: $crate::settings!(@bug $($bug)?),
                },
            )*];

            fn set(&mut self, name: &str, text: &str) -> Result<bool, String> {
                for (i, info) in Self::DECLARED.iter().enumerate() {
                    if info.name != name {
                        continue;
                    }
                    let mut at = 0;
                    $(
                        if at == i {
                            self.$field = $crate::settings::parse::<$ty>(info, text)?;
                            return Ok(true);
                        }
                        at += 1;
                    )*
                    let _ = at;
                }
                Ok(false)
            }

            fn values(&self) -> Vec<(&'static str, Option<String>)> {
                vec![$(($key, $crate::settings::Value::render(&self.$field)),)*]
            }
        }
    };
    (@or () ($($default:tt)*)) => { $($default)* };
    (@bug) => { false };
    (@bug bug) => { true };
    (@or ($($given:tt)+) ($($default:tt)*)) => { $($given)+ };
}

#[cfg(test)]
mod tests {
    use super::*;

    crate::settings! {
        /// Test settings.
        struct Test {
            /// A count.
            "count" count: u64 = 5, in 1..=10, explore 2..=4;
            /// Derived unless set.
            "derived" derived: Option<usize> = None, in 0..=3;
            /// A flag.
            "flag" flag: bool = true;
            /// A bug.
            bug "bug" bug: bool = false;
        }
    }

    fn params(pairs: &[(&str, &str)]) -> Params {
        Params {
            settings: pairs
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
        }
    }

    #[test]
    fn the_declaration_says_what_each_setting_takes() {
        let [count, derived, flag, bug] = Test::DECLARED else {
            panic!("{:?}", Test::DECLARED);
        };
        assert_eq!(
            (
                count.name,
                count.kind,
                count.range,
                count.explore,
                count.default
            ),
            ("count", Kind::Count, (1, 10), (2, 4), "5")
        );
        assert_eq!(count.doc.trim(), "A count.");
        assert_eq!(
            (derived.kind, derived.range, derived.explore),
            (Kind::OptionalCount, (0, 3), (0, 3))
        );
        assert_eq!(derived.default, "None");
        assert_eq!((flag.kind, flag.default), (Kind::Flag, "true"));
        assert_eq!(flag.accepts(), "true or false");
        assert_eq!((flag.bug, bug.bug, bug.kind), (false, true, Kind::Flag));
    }

    #[test]
    fn settings_are_read_and_refused_in_the_users_words() {
        let s = Test::from_params("m", &params(&[("count", "7"), ("flag", "false")])).unwrap();
        assert_eq!(
            s,
            Test {
                count: 7,
                derived: None,
                flag: false,
                bug: false,
            }
        );
        let err = |pairs: &[(&str, &str)]| {
            Test::from_params("m", &params(pairs))
                .unwrap_err()
                .to_string()
        };
        assert_eq!(
            err(&[("count", "11")]),
            "model `m`: setting `count` is `11`; it takes a whole number from 1 to 10"
        );
        assert_eq!(
            err(&[("count", "-1")]),
            "model `m`: setting `count` is `-1`; it takes a whole number from 1 to 10"
        );
        assert_eq!(
            err(&[("flag", "yes")]),
            "model `m`: setting `flag` is `yes`; it takes true or false"
        );
        assert_eq!(
            err(&[("bogus", "1")]),
            "model `m`: setting `bogus` is not a setting of m; its settings are count, derived, flag, bug"
        );
    }

    #[test]
    fn changes_are_what_differs_from_the_defaults() {
        let s = Test {
            count: 5,
            derived: Some(2),
            flag: false,
            bug: false,
        };
        assert_eq!(s.changes(), params(&[("derived", "2"), ("flag", "false")]));
        assert_eq!(Test::from_params("m", &s.changes()).unwrap(), s);
        assert_eq!(Test::default().changes(), Params::default());
    }
}
