//! Model scoring: the pipeline stage between ingested flow records and model alerts.
//!
//! **What it does.** Turns events that carry flow features into model rows
//! ([`rows::LabelledRows`], used by training and evaluation), and scores events with models
//! loaded through the verifier ([`model::ScoringModel`]), raising an alert with the model's
//! exact explanation when a score reaches the model's threshold.
//!
//! **Inputs and outputs.** [`rampart_core::Event`]s in; [`rampart_core::Alert`]s of source
//! `anomaly` or `scorer` out, each carrying the score, the model's name and signed version,
//! and its top contributions.
//!
//! **Main design decision.** A [`model::ScoringModel`] can only be built from a
//! [`rampart_registry::VerifiedModel`]: no code path scores with a model whose signature was
//! not checked. Labels never enter a row's cells: they come from the event's ground truth, a
//! field no feature extraction reads.

pub mod error;
pub mod model;
pub mod rows;
pub mod train;

pub use error::{Result, ScoreError};
pub use model::{EventScore, MODEL_FILE, ScoringModel};
pub use rows::LabelledRows;
pub use train::{FitOn, TrainOptions, Trained, evaluate, train};
