//! Learning algorithms and statistics for Rampart: pure functions over arrays, no I/O.

pub mod binning;
pub mod calibration;
pub mod error;
pub mod explanation;
pub mod gbdt;
pub mod logistic;
pub mod metrics;
pub mod rng;
pub mod schema;
pub mod table;

pub use error::{MlError, Result};
pub mod fast_treeshap;
pub mod forest;
pub mod matrix;
pub mod model;
pub mod model_file;
pub mod tree;
pub mod treeshap;
