//! The YAML shape of a Packit config as far as fedflow reads it: one [`Section`] type serves both the top
//! level and each job (Packit lets jobs inherit every top-level key), with YAML merge keys (`<<`) resolved
//! after parsing. Unknown keys are ignored; known keys are typed so that a wrong type fails with its line.

use serde::Deserialize;
use serde::de::{self, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use std::fmt;

/// Keys of the top level or of one job. `None` means "absent (or null)".
#[derive(Clone, Debug, Default, Deserialize)]
pub(crate) struct Section {
    #[serde(rename = "<<", default)]
    merge: Option<MergeSources>,
    pub jobs: Option<Vec<Section>>,
    pub job: Option<String>,
    pub trigger: Option<String>,
    pub manual_trigger: Option<Flag>,
    pub packit_instances: Option<Vec<String>>,
    pub dist_git_branches: Option<Branches>,
    pub allowed_committers: Option<Vec<String>>,
    pub allowed_pr_authors: Option<Vec<String>>,
    pub allowed_builders: Option<Vec<String>>,
    pub scratch: Option<Flag>,
    pub sidetag_group: Option<String>,
    pub require: Option<Require>,
    pub bodhi_extra_params: Option<serde_json::Map<String, serde_json::Value>>,
    pub downstream_package_name: Option<String>,
    pub dependents: Option<IgnoredAny>,
    pub dependencies: Option<IgnoredAny>,
    pub actions: Option<Actions>,
    pub packages: Option<IgnoredAny>,
}

#[derive(Clone, Debug, Default, Deserialize)]
pub(crate) struct Require {
    pub label: Option<LabelRequirement>,
}

#[derive(Clone, Debug, Default, Deserialize)]
pub(crate) struct LabelRequirement {
    pub present: Option<Vec<String>>,
    pub absent: Option<Vec<String>>,
}

#[derive(Clone, Debug, Default, Deserialize)]
pub(crate) struct Actions {
    #[serde(rename = "run-condition")]
    pub run_condition: Option<IgnoredAny>,
}

/// Copies every key `self` lacks from `other`.
macro_rules! fill_missing {
    ($target:expr, $source:expr, $($field:ident),+ $(,)?) => {
        $(if $target.$field.is_none() {
            $target.$field = $source.$field.clone();
        })+
    };
}

impl Section {
    /// Resolves `<<` at this level and in every job: explicit keys win over merged ones, and of several
    /// merge sources the earlier wins (YAML merge-key semantics).
    pub fn resolve_merges(mut self) -> Section {
        if let Some(merge) = self.merge.take() {
            let sources = match merge {
                MergeSources::One(source) => vec![*source],
                MergeSources::Many(sources) => sources,
            };
            for source in sources {
                let source = source.resolve_merges();
                self.inherit(&source);
                fill_missing!(self, source, job, trigger, jobs);
            }
        }
        if let Some(jobs) = self.jobs.take() {
            self.jobs = Some(jobs.into_iter().map(Section::resolve_merges).collect());
        }
        self
    }

    /// Takes every key a job inherits from the top level that this section lacks from `parent` (all but
    /// `job`, `trigger` and `jobs`).
    pub fn inherit(&mut self, parent: &Section) {
        fill_missing!(
            self,
            parent,
            manual_trigger,
            packit_instances,
            dist_git_branches,
            allowed_committers,
            allowed_pr_authors,
            allowed_builders,
            scratch,
            sidetag_group,
            require,
            bodhi_extra_params,
            downstream_package_name,
            dependents,
            dependencies,
            actions,
            packages,
        );
    }
}

/// The value of `<<`: one mapping or a list of mappings.
#[derive(Clone, Debug)]
enum MergeSources {
    One(Box<Section>),
    Many(Vec<Section>),
}

impl<'de> Deserialize<'de> for MergeSources {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct MergeVisitor;
        impl<'de> Visitor<'de> for MergeVisitor {
            type Value = MergeSources;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a mapping or a list of mappings to merge")
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<MergeSources, A::Error> {
                let section = Section::deserialize(de::value::MapAccessDeserializer::new(map))?;
                Ok(MergeSources::One(Box::new(section)))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<MergeSources, A::Error> {
                let mut sources = Vec::new();
                while let Some(section) = seq.next_element::<Section>()? {
                    sources.push(section);
                }
                Ok(MergeSources::Many(sources))
            }
        }
        deserializer.deserialize_any(MergeVisitor)
    }
}

/// A boolean as Packit (marshmallow) accepts it: YAML booleans, `0`/`1`, and the strings `true`/`yes`/
/// `on`/`y`/`t`/`1` and their negations in the usual capitalisations (PyYAML reads YAML 1.1, where `yes`
/// is a boolean; serde_yaml reads YAML 1.2, where it is a string).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Flag(pub bool);

impl<'de> Deserialize<'de> for Flag {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct FlagVisitor;
        impl Visitor<'_> for FlagVisitor {
            type Value = Flag;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a boolean (true/false, yes/no, on/off)")
            }
            fn visit_bool<E: de::Error>(self, value: bool) -> Result<Flag, E> {
                Ok(Flag(value))
            }
            fn visit_u64<E: de::Error>(self, value: u64) -> Result<Flag, E> {
                match value {
                    0 => Ok(Flag(false)),
                    1 => Ok(Flag(true)),
                    _ => Err(E::invalid_value(de::Unexpected::Unsigned(value), &self)),
                }
            }
            fn visit_i64<E: de::Error>(self, value: i64) -> Result<Flag, E> {
                match u64::try_from(value) {
                    Ok(value) => self.visit_u64(value),
                    Err(_) => Err(E::invalid_value(de::Unexpected::Signed(value), &self)),
                }
            }
            fn visit_str<E: de::Error>(self, value: &str) -> Result<Flag, E> {
                const TRUE: &[&str] = &["t", "true", "on", "y", "yes", "1"];
                const FALSE: &[&str] = &["f", "false", "off", "n", "no", "0"];
                let lower = value.to_ascii_lowercase();
                // marshmallow lists lower, Title and UPPER case only, not mixed case like "yEs".
                let usual_case =
                    value == lower || value == value.to_ascii_uppercase() || is_title_case(value);
                if usual_case && TRUE.contains(&lower.as_str()) {
                    Ok(Flag(true))
                } else if usual_case && FALSE.contains(&lower.as_str()) {
                    Ok(Flag(false))
                } else {
                    Err(E::invalid_value(de::Unexpected::Str(value), &self))
                }
            }
        }
        deserializer.deserialize_any(FlagVisitor)
    }
}

fn is_title_case(value: &str) -> bool {
    let mut chars = value.chars();
    chars.next().is_some_and(|first| first.is_ascii_uppercase())
        && chars.all(|c| !c.is_ascii_uppercase())
}

/// `dist_git_branches`: a list of names, a single name, or the mapping form `{rawhide: {…}}` of
/// propose/pull jobs (its keys are the branches).
#[derive(Clone, Debug)]
pub(crate) struct Branches(pub Vec<String>);

impl<'de> Deserialize<'de> for Branches {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct BranchesVisitor;
        impl<'de> Visitor<'de> for BranchesVisitor {
            type Value = Branches;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str(
                    "a branch name, a list of branch names, or a mapping keyed by branch name",
                )
            }
            fn visit_str<E: de::Error>(self, value: &str) -> Result<Branches, E> {
                Ok(Branches(vec![value.to_owned()]))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Branches, A::Error> {
                let mut names = Vec::new();
                while let Some(name) = seq.next_element::<String>()? {
                    names.push(name);
                }
                Ok(Branches(names))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Branches, A::Error> {
                let mut names = Vec::new();
                while let Some((name, _)) = map.next_entry::<String, IgnoredAny>()? {
                    names.push(name);
                }
                Ok(Branches(names))
            }
        }
        deserializer.deserialize_any(BranchesVisitor)
    }
}
