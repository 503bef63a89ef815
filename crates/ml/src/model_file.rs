//! The model file: data only, versioned JSON (see `docs/formats/model.md`).
//!
//! Reading is defensive because a model file is untrusted until proven
//! otherwise: the byte length is checked first, every array is counted against
//! its cap while it is parsed (so no allocation is sized by the file), and the
//! parsed model is validated (child indices in range and increasing, one parent
//! per node, depths, feature indices, finite numbers) before any traversal.
//! Nothing in the file is ever executed.

use serde::de::{Deserializer, SeqAccess, Visitor};
use serde::{Deserialize, Serialize};

use crate::calibration::Calibration;
use crate::error::{MlError, Result};
use crate::forest::IsolationForestParams;
use crate::gbdt::GbdtParams;
use crate::metrics::Evaluation;
use crate::schema::{ColumnKind, FeatureSchema};
use crate::tree::{Tree, TreeLimits};

/// The `format` field of every model file.
pub const FORMAT: &str = "rampart-ml-model";
/// The version this build writes and reads.
pub const FORMAT_VERSION: u32 = 1;

/// Most trees in one model file.
pub const MAX_TREES: usize = 10_000;
/// Most nodes in one tree of a model file.
pub const MAX_NODES_PER_TREE: usize = 1 << 17;
/// Most input columns, categories per column, and isotonic points.
pub const MAX_ITEMS: usize = 1 << 16;

/// Caps applied when reading a model file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ModelLimits {
    /// Most bytes in the file.
    pub max_bytes: usize,
    /// Most nodes over all trees.
    pub max_total_nodes: usize,
    /// Per-tree caps.
    pub tree: TreeLimits,
    /// Most encoded features.
    pub max_features: usize,
}

impl Default for ModelLimits {
    fn default() -> Self {
        Self {
            max_bytes: 256 << 20,
            max_total_nodes: 4 << 20,
            tree: TreeLimits {
                max_nodes: MAX_NODES_PER_TREE,
                max_depth: 64,
            },
            max_features: MAX_ITEMS,
        }
    }
}

/// What a model does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ModelKind {
    /// Unsupervised anomaly detector (isolation forest); score in `(0, 1]`.
    Anomaly,
    /// Supervised threat scorer (boosted trees + calibration); score is a probability.
    Scorer,
}

impl ModelKind {
    /// The kind's name as written in the file.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Anomaly => "anomaly",
            Self::Scorer => "scorer",
        }
    }
}

/// The learnt parameters, by algorithm.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "algorithm", rename_all = "snake_case", deny_unknown_fields)]
pub enum ModelBody {
    /// An isolation forest; leaf values are `depth + c(n_leaf)`.
    IsolationForest {
        /// Hyperparameters it was trained with.
        params: IsolationForestParams,
        /// Subsample size `psi`.
        sample_size: usize,
        /// The trees.
        #[serde(deserialize_with = "bounded_trees")]
        trees: Vec<Tree>,
    },
    /// Gradient-boosted trees with a calibration of their margin.
    Gbdt {
        /// Hyperparameters it was trained with.
        params: GbdtParams,
        /// Initial log-odds.
        base_score: f64,
        /// The trees.
        #[serde(deserialize_with = "bounded_trees")]
        trees: Vec<Tree>,
        /// Margin-to-probability map.
        calibration: Calibration,
    },
}

/// The fields read before the body, so a newer version fails with a version error.
#[derive(Deserialize)]
struct Header {
    format: Option<String>,
    version: Option<u32>,
}

/// A whole model file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelFile {
    /// Always [`FORMAT`].
    pub format: String,
    /// Format version; this build reads [`FORMAT_VERSION`].
    pub version: u32,
    /// Model name chosen by the trainer.
    pub name: String,
    /// Anomaly detector or threat scorer.
    pub kind: ModelKind,
    /// Digest of the training data, filled by the caller (e.g. `sha256:<hex>` of a dataset manifest).
    pub training_data_digest: String,
    /// The input contract.
    pub schema: FeatureSchema,
    /// Encoded feature names, in model input order.
    #[serde(deserialize_with = "bounded_items")]
    pub feature_names: Vec<String>,
    /// Score at or above which a row is flagged.
    pub threshold: f64,
    /// Held-out evaluation, when one was run.
    pub metrics: Option<Evaluation>,
    /// The learnt parameters.
    pub body: ModelBody,
}

impl ModelFile {
    /// Serialises to pretty JSON.
    pub fn to_bytes(&self) -> Result<Vec<u8>> {
        serde_json::to_vec_pretty(self).map_err(|e| MlError::ModelFormat {
            detail: e.to_string(),
        })
    }

    /// Parses and validates a model file from untrusted bytes.
    pub fn from_bytes(bytes: &[u8], limits: &ModelLimits) -> Result<Self> {
        if bytes.len() > limits.max_bytes {
            return Err(MlError::LimitExceeded {
                what: "model file bytes",
                got: bytes.len(),
                limit: limits.max_bytes,
            });
        }
        // Peek at the header first so a future version gets a version error, not a parse error.
        let header: Header = serde_json::from_slice(bytes).map_err(|e| MlError::ModelFormat {
            detail: e.to_string(),
        })?;
        if header.format.as_deref() != Some(FORMAT) {
            return Err(MlError::ModelFormat {
                detail: format!(
                    "`format` is `{}`, expected `{FORMAT}`",
                    header.format.unwrap_or_default()
                ),
            });
        }
        match header.version {
            Some(FORMAT_VERSION) => {}
            Some(found) => {
                return Err(MlError::UnsupportedVersion {
                    found,
                    supported: FORMAT_VERSION,
                });
            }
            None => {
                return Err(MlError::ModelFormat {
                    detail: "missing `version`".into(),
                });
            }
        }
        let file: Self = serde_json::from_slice(bytes).map_err(|e| MlError::ModelFormat {
            detail: e.to_string(),
        })?;
        file.validate(limits)?;
        Ok(file)
    }

    /// Checks every invariant the runtime relies on.
    pub fn validate(&self, limits: &ModelLimits) -> Result<()> {
        let bad = |reason: String| Err(MlError::InvalidModel { reason });
        validate_schema(&self.schema)?;
        let n_features = self.schema.n_features();
        if n_features > limits.max_features {
            return Err(MlError::LimitExceeded {
                what: "features",
                got: n_features,
                limit: limits.max_features,
            });
        }
        if self.feature_names.len() != n_features {
            return bad(format!(
                "`feature_names` has `{}` entries but the schema encodes `{n_features}` features",
                self.feature_names.len()
            ));
        }
        if !self.threshold.is_finite() {
            return bad(format!("`threshold` is `{}`", self.threshold));
        }
        let (trees, kind) = match &self.body {
            ModelBody::IsolationForest {
                trees, sample_size, ..
            } => {
                if *sample_size < 2 {
                    return bad(format!(
                        "`sample_size` is `{sample_size}`, at least 2 is needed"
                    ));
                }
                (trees, ModelKind::Anomaly)
            }
            ModelBody::Gbdt {
                trees,
                base_score,
                calibration,
                ..
            } => {
                if !base_score.is_finite() {
                    return bad(format!("`base_score` is `{base_score}`"));
                }
                calibration.validate(MAX_ITEMS)?;
                (trees, ModelKind::Scorer)
            }
        };
        if kind != self.kind {
            return bad(format!(
                "`kind` is `{}` but the body is a `{}` model",
                self.kind.as_str(),
                kind.as_str()
            ));
        }
        if trees.is_empty() {
            return bad("the model has no trees".into());
        }
        let total: usize = trees.iter().map(Tree::len).sum();
        if total > limits.max_total_nodes {
            return Err(MlError::LimitExceeded {
                what: "nodes over all trees",
                got: total,
                limit: limits.max_total_nodes,
            });
        }
        for (i, t) in trees.iter().enumerate() {
            t.validate(n_features, limits.tree).map_err(|e| match e {
                MlError::InvalidModel { reason } => MlError::InvalidModel {
                    reason: format!("tree `{i}`: {reason}"),
                },
                other => other,
            })?;
        }
        Ok(())
    }
}

/// Checks a loaded schema's sizes and numbers.
fn validate_schema(schema: &FeatureSchema) -> Result<()> {
    if schema.columns.len() > MAX_ITEMS {
        return Err(MlError::LimitExceeded {
            what: "schema columns",
            got: schema.columns.len(),
            limit: MAX_ITEMS,
        });
    }
    for c in &schema.columns {
        match &c.kind {
            ColumnKind::Categorical { categories, .. } if categories.len() > MAX_ITEMS => {
                return Err(MlError::LimitExceeded {
                    what: "categories in a column",
                    got: categories.len(),
                    limit: MAX_ITEMS,
                });
            }
            ColumnKind::Numeric {
                seen_min,
                seen_max,
                impute,
                clip,
                ..
            } => {
                let clip_ok =
                    clip.is_none_or(|[lo, hi]| lo.is_finite() && hi.is_finite() && lo <= hi);
                if !(seen_min.is_finite() && seen_max.is_finite() && impute.is_finite() && clip_ok)
                {
                    return Err(MlError::InvalidModel {
                        reason: format!("numeric column `{}` has non-finite parameters", c.name),
                    });
                }
            }
            _ => {}
        }
    }
    Ok(())
}

/// Deserialises a sequence, failing as soon as it holds more than `max` items;
/// the preallocation never trusts the input's size hint beyond a small bound.
pub(crate) fn bounded_vec<'de, D, T>(
    d: D,
    max: usize,
    what: &'static str,
) -> std::result::Result<Vec<T>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    struct Bounded<T> {
        max: usize,
        what: &'static str,
        marker: std::marker::PhantomData<T>,
    }
    impl<'de, T: Deserialize<'de>> Visitor<'de> for Bounded<T> {
        type Value = Vec<T>;
        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            write!(f, "a list of at most {} {}", self.max, self.what)
        }
        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> std::result::Result<Vec<T>, A::Error> {
            let mut out = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(self.max).min(4096));
            while let Some(item) = seq.next_element()? {
                if out.len() >= self.max {
                    return Err(serde::de::Error::custom(format!(
                        "more than `{}` {}: the limit",
                        self.max, self.what
                    )));
                }
                out.push(item);
            }
            Ok(out)
        }
    }
    d.deserialize_seq(Bounded {
        max,
        what,
        marker: std::marker::PhantomData,
    })
}

fn bounded_trees<'de, D: Deserializer<'de>>(d: D) -> std::result::Result<Vec<Tree>, D::Error> {
    bounded_vec(d, MAX_TREES, "trees")
}

/// Per-tree node arrays are bounded the same way.
pub(crate) fn bounded_nodes<'de, D, T>(d: D) -> std::result::Result<Vec<T>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    bounded_vec(d, MAX_NODES_PER_TREE, "nodes")
}

/// Schema lists (columns, categories, isotonic points) are bounded too.
pub(crate) fn bounded_items<'de, D, T>(d: D) -> std::result::Result<Vec<T>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    bounded_vec(d, MAX_ITEMS, "items")
}
