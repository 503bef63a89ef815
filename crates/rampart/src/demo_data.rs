//! The real data `rampart demo` runs on, embedded in the binary so the demo works anywhere.
//! Sources and licences: `crates/rampart/demo/ATTRIBUTION.md` (written out beside the data).

use std::path::{Path, PathBuf};

use anyhow::Context as _;

/// The attribution file, written beside the data but not read as input.
const ATTRIBUTION: &str = "ATTRIBUTION.md";

/// The bundled files: name and contents.
const FILES: [(&str, &[u8]); 4] = [
    (
        "splunk-T1047-wmi.jsonl.gz",
        include_bytes!("../demo/splunk-T1047-wmi.jsonl.gz"),
    ),
    (
        "stix-poisonivy.json",
        include_bytes!("../demo/stix-poisonivy.json"),
    ),
    ("nsl-kdd-200.txt", include_bytes!("../demo/nsl-kdd-200.txt")),
    (ATTRIBUTION, include_bytes!("../demo/ATTRIBUTION.md")),
];

/// Labelled flows the demo trains its models on: lines 202–4,201 of NSL-KDD's
/// `KDDTrain+_20Percent.txt`, disjoint from the 200 rows it scores.
const TRAINING: (&str, &[u8]) = (
    "nsl-kdd-train-4000.txt.gz",
    include_bytes!("../demo/nsl-kdd-train-4000.txt.gz"),
);

/// Writes the demo's training flows into `dir/demo-training/` and returns their path.
pub fn write_training(dir: &Path) -> anyhow::Result<PathBuf> {
    let folder = dir.join("demo-training");
    std::fs::create_dir_all(&folder)
        .with_context(|| format!("cannot create `{}`", folder.display()))?;
    let path = folder.join(TRAINING.0);
    std::fs::write(&path, TRAINING.1)
        .with_context(|| format!("cannot write `{}`", path.display()))?;
    Ok(path)
}

/// Writes the bundled files into `dir/demo-input/` and returns the data files' paths
/// (the attribution file is written beside them but not read as input).
pub fn write_to(dir: &Path) -> anyhow::Result<Vec<PathBuf>> {
    let input = dir.join("demo-input");
    std::fs::create_dir_all(&input)
        .with_context(|| format!("cannot create `{}`", input.display()))?;
    let mut paths = Vec::new();
    for (name, bytes) in FILES {
        let path = input.join(name);
        std::fs::write(&path, bytes)
            .with_context(|| format!("cannot write `{}`", path.display()))?;
        if name != ATTRIBUTION {
            paths.push(path);
        }
    }
    Ok(paths)
}
