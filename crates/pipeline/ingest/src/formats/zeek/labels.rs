//! Data-set labels in Zeek logs (Stratosphere, IoT-23): ground truth, never attributes.

use rampart_core::GroundTruth;
use serde_json::{Map, Value};

/// Column names that carry the label.
const LABEL: [&str; 1] = ["label"];
/// Column names that carry the finer label.
const DETAILED: [&str; 3] = ["detailedlabel", "detailed-label", "detailed_label"];

/// Removes the label columns from a row and returns the ground truth they state, if any.
pub(crate) fn take_ground_truth(object: &mut Map<String, Value>) -> Option<GroundTruth> {
    let label = LABEL.iter().find_map(|key| object.remove(*key));
    let detailed = DETAILED.iter().find_map(|key| object.remove(*key));
    let label = label
        .as_ref()
        .and_then(Value::as_str)
        .and_then(meaningful)?;
    Some(GroundTruth {
        label: label.to_owned(),
        malicious: malicious(label),
        category: detailed
            .as_ref()
            .and_then(Value::as_str)
            .and_then(meaningful)
            .map(str::to_owned),
    })
}

/// A label value unless it is a placeholder.
fn meaningful(text: &str) -> Option<&str> {
    let text = text.trim();
    (!matches!(text, "" | "-" | "(empty)")).then_some(text)
}

/// What a label says: Stratosphere writes `Malicious`, `Benign` and `Background`; older CTU
/// captures write `flow=From-Botnet-…`, `flow=From-Normal-…` and `flow=Background-…`.
pub(crate) fn malicious(label: &str) -> Option<bool> {
    let lower = label.to_ascii_lowercase();
    if lower.contains("background") {
        None
    } else if lower.contains("malicious") || lower.contains("botnet") || lower.contains("attack") {
        Some(true)
    } else if lower.contains("benign") || lower.contains("normal") {
        Some(false)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stratosphere_labels_map_to_ground_truth() {
        assert_eq!(malicious("Malicious"), Some(true));
        assert_eq!(malicious("Benign"), Some(false));
        assert_eq!(malicious("Background"), None);
        let mut row =
            serde_json::json!({"label": "Malicious", "detailedlabel": "C&C", "uid": "C1"})
                .as_object()
                .unwrap()
                .clone();
        let truth = take_ground_truth(&mut row).unwrap();
        assert_eq!(truth.category.as_deref(), Some("C&C"));
        assert_eq!(row.len(), 1);
        let mut empty = serde_json::json!({"label": "(empty)", "detailedlabel": "(empty)"})
            .as_object()
            .unwrap()
            .clone();
        assert!(take_ground_truth(&mut empty).is_none());
        assert!(empty.is_empty());
    }
}
