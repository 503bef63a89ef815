//! Model files are untrusted until their signature is checked, and even then a
//! parser bug must not panic, hang or allocate without bound: arbitrary bytes
//! go through the loader, and whatever loads is scored and explained.

#![no_main]

use libfuzzer_sys::fuzz_target;
use rampart_ml::model::Model;
use rampart_ml::model_file::ModelLimits;
use rampart_ml::table::Value;

fuzz_target!(|data: &[u8]| {
    let limits = ModelLimits {
        max_bytes: 1 << 20,
        ..ModelLimits::default()
    };
    let Ok(model) = Model::from_bytes(data, &limits) else {
        return;
    };
    let n = model.schema().n_features();
    let features = vec![0.5; n];
    let _ = model.score_features(&features);
    let _ = model.explain_features(&features);
    let row: Vec<Value<'_>> = (0..model.schema().n_columns())
        .map(|_| Value::Text("x"))
        .collect();
    let _ = model.score_row(&row, true);
    let _ = model.to_bytes();
});
