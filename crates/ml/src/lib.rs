//! Learning algorithms and statistics for Rampart: pure functions over arrays, no I/O.
//!
//! **What it does.** Anomaly detection (isolation forest, streaming per-entity
//! baselines) and supervised threat scoring (histogram gradient-boosted trees with
//! Platt or isotonic calibration, logistic regression), each with exact additive
//! explanations (path-dependent `TreeSHAP`, coefficient contributions, z-scores),
//! evaluation metrics defined as scikit-learn defines them, and a data-only,
//! versioned model file.
//!
//! **Inputs and outputs.** A [`table::Table`] of raw labelled columns goes through
//! a [`schema::FeatureSchema`], the model's input contract, into a dense
//! [`matrix::Matrix`]; models return numbers ([`model::Scored`]) and
//! [`explanation::Explanation`]s. A model file is read from a byte slice; this crate
//! never opens a file, a socket or a thread.
//!
//! **Main design decision.** Every tree model is stored as flat node arrays in the
//! exact form `shap.TreeExplainer` accepts ([`tree::Tree`]), so explanations can be
//! checked against shap on the same trees, the file format is ours, and a loaded
//! file is validated structurally (indices, parents, depths, sizes) before any walk.
//!
//! ```
//! use rampart_ml::model::{AnomalyParams, Model};
//! use rampart_ml::model_file::ModelLimits;
//! use rampart_ml::schema::{FeatureSchema, SchemaOptions};
//! use rampart_ml::table::{Table, Value};
//!
//! // Normal traffic: small transfers over tcp or udp.
//! let rows: Vec<Vec<String>> = (0..300)
//!     .map(|i| vec![(100 + i % 50).to_string(), ["tcp", "udp"][i % 2].to_string()])
//!     .collect();
//! let table = Table::from_text(&["bytes", "proto"], &rows, &[])?;
//! let schema = FeatureSchema::fit(&table, &SchemaOptions::default())?;
//! let model = Model::train_anomaly("demo", &table, schema, &AnomalyParams::default(), "sha256:demo")?;
//!
//! // Models travel as bytes and are validated when read back.
//! let model = Model::from_bytes(&model.to_bytes()?, &ModelLimits::default())?;
//! let odd = model.score_row(&[Value::Number(90_000.0), Value::Text("tcp")], true)?;
//! let usual = model.score_row(&[Value::Number(120.0), Value::Text("udp")], false)?;
//! assert!(odd.score > usual.score);
//! assert_eq!(odd.issues.len(), 1); // 90 000 is outside the training range: flagged, still scored
//! let why = odd.explanation.expect("asked for");
//! assert_eq!(why.by_column()[0].0, "bytes");
//! assert!(why.additivity_error() < 1e-9);
//! # Ok::<(), rampart_ml::MlError>(())
//! ```

pub mod baseline;
pub mod binning;
pub mod calibration;
pub mod error;
pub mod explanation;
pub mod fast_treeshap;
pub mod forest;
pub mod gbdt;
pub mod logistic;
pub mod matrix;
pub mod metrics;
pub mod model;
pub mod model_file;
pub mod rng;
pub mod schema;
pub mod table;
pub mod tree;
pub mod treeshap;

pub use error::{MlError, Result};
