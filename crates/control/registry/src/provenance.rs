//! SLSA Provenance v1 for a trained model: an in-toto statement whose subjects
//! are the model's files, whose build definition records the training
//! parameters and the dataset files (with digests), signed in a DSSE envelope
//! and stored beside the model as `DIR/provenance.json`.
//!
//! The provenance file is never part of the model signature (it is in the
//! signature's `ignore_paths`), so it can be written before or after signing.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use chrono::{DateTime, SecondsFormat, Utc};
use rampart_crypto::ecdsa::EcdsaSigningKey;
use serde::{Deserialize, Serialize};

use crate::dsse::Envelope;
use crate::error::{RegistryError, Result};
use crate::fsio::{MAX_PROVENANCE_BYTES, read_capped, write_atomic};
use crate::keys::KeyId;
use crate::manifest::{GIT_IGNORE_PATHS, Manifest, ResourceName};
use crate::model_dir::{IgnoreSet, hash_model_dir, sha256_file};
use crate::sign::{PROVENANCE_FILE, SIGNATURE_FILE, canonical_json, model_name};
use crate::statement::{IN_TOTO_PAYLOAD_TYPE, ResourceDescriptor, STATEMENT_TYPE, Statement};
use crate::trust::TrustPolicy;

/// Predicate type of SLSA Provenance v1.
pub const SLSA_PROVENANCE_V1: &str = "https://slsa.dev/provenance/v1";

/// Build type of a Rampart training run.
pub const TRAINING_BUILD_TYPE: &str =
    "https://github.com/rampart-security/rampart/buildtypes/training/v1";

/// Cap on recorded dataset dependencies.
pub const MAX_DEPENDENCIES: usize = 100_000;

/// Builder id of this build of Rampart: the project and its version.
pub fn builder_id() -> String {
    format!(
        "https://github.com/rampart-security/rampart/builder@v{}",
        env!("CARGO_PKG_VERSION")
    )
}

/// The SLSA Provenance v1 predicate.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SlsaProvenance {
    /// What was built and from what.
    pub build_definition: BuildDefinition,
    /// Who built it and when.
    pub run_details: RunDetails,
}

/// `predicate.buildDefinition`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BuildDefinition {
    /// URI naming the kind of build (training for Rampart models).
    pub build_type: String,
    /// Parameters chosen by the caller: the training hyper-parameters.
    pub external_parameters: serde_json::Value,
    /// Parameters chosen by the builder itself.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub internal_parameters: Option<serde_json::Value>,
    /// Inputs read during the build: the dataset files with their digests.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub resolved_dependencies: Vec<ResourceDescriptor>,
}

/// `predicate.runDetails`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RunDetails {
    /// The builder.
    pub builder: Builder,
    /// Invocation id and timestamps.
    #[serde(default)]
    pub metadata: BuildMetadata,
}

/// `runDetails.builder`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Builder {
    /// URI of the builder, with its version.
    pub id: String,
    /// Versions of builder components.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub version: BTreeMap<String, String>,
}

/// `runDetails.metadata`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BuildMetadata {
    /// Identifier of this run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub invocation_id: Option<String>,
    /// Start time, `YYYY-MM-DDThh:mm:ssZ`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started_on: Option<String>,
    /// End time, `YYYY-MM-DDThh:mm:ssZ`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finished_on: Option<String>,
}

/// What the trainer knows about a run.
#[derive(Debug, Clone, PartialEq)]
pub struct TrainingRun {
    /// Training parameters (become `externalParameters`).
    pub parameters: serde_json::Value,
    /// Dataset files (become `resolvedDependencies`); see [`dataset_file`].
    pub datasets: Vec<ResourceDescriptor>,
    /// Run identifier.
    pub invocation_id: String,
    /// When training started.
    pub started_on: DateTime<Utc>,
    /// When training finished.
    pub finished_on: DateTime<Utc>,
}

/// Describes one dataset file: its name, location and SHA-256 digest.
pub fn dataset_file(path: &Path) -> Result<ResourceDescriptor> {
    let digest = sha256_file(path)?;
    let name = path
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or_default()
        .to_owned();
    let mut descriptor = ResourceDescriptor::sha256(name, &digest);
    descriptor.uri = Some(format!("file://{}", path.display()));
    Ok(descriptor)
}

/// Provenance whose signature and subjects have been checked.
#[derive(Debug, Clone, PartialEq)]
pub struct VerifiedProvenance {
    /// The predicate.
    pub provenance: SlsaProvenance,
    /// The model files it covers, as listed in the subject.
    pub subjects: Vec<ResourceDescriptor>,
    /// Id of the signing key.
    pub key_id: KeyId,
    /// Trust-policy name of that key.
    pub key_name: String,
}

fn timestamp(t: &DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// The ignore set for provenance subjects: what the model signature ignores by default.
fn provenance_ignore() -> IgnoreSet {
    IgnoreSet::new(
        GIT_IGNORE_PATHS
            .iter()
            .copied()
            .chain([PROVENANCE_FILE, SIGNATURE_FILE]),
    )
}

/// Writes signed SLSA provenance for the model in `dir` to `DIR/provenance.json`.
pub fn write_provenance(dir: &Path, key: &EcdsaSigningKey, run: &TrainingRun) -> Result<PathBuf> {
    if run.datasets.len() > MAX_DEPENDENCIES {
        return Err(RegistryError::Policy(format!(
            "more than {MAX_DEPENDENCIES} dataset files"
        )));
    }
    let manifest = hash_model_dir(dir, &provenance_ignore())?;
    if manifest.is_empty() {
        return Err(RegistryError::EmptyModel(dir.to_path_buf()));
    }
    let predicate = SlsaProvenance {
        build_definition: BuildDefinition {
            build_type: TRAINING_BUILD_TYPE.to_owned(),
            external_parameters: run.parameters.clone(),
            internal_parameters: None,
            resolved_dependencies: run.datasets.clone(),
        },
        run_details: RunDetails {
            builder: Builder {
                id: builder_id(),
                version: BTreeMap::from([(
                    "rampart".to_owned(),
                    env!("CARGO_PKG_VERSION").to_owned(),
                )]),
            },
            metadata: BuildMetadata {
                invocation_id: Some(run.invocation_id.clone()),
                started_on: Some(timestamp(&run.started_on)),
                finished_on: Some(timestamp(&run.finished_on)),
            },
        },
    };
    let statement = Statement {
        statement_type: STATEMENT_TYPE.to_owned(),
        subject: manifest.subjects(),
        predicate_type: SLSA_PROVENANCE_V1.to_owned(),
        predicate: serde_json::to_value(&predicate)
            .map_err(|e| RegistryError::malformed("provenance", e.to_string()))?,
    };
    let payload = canonical_json(&statement)?;
    let envelope = Envelope::sign(IN_TOTO_PAYLOAD_TYPE, &payload, key);
    let json = serde_json::to_vec_pretty(&envelope)
        .map_err(|e| RegistryError::malformed("provenance", e.to_string()))?;
    let path = dir.join(PROVENANCE_FILE);
    write_atomic(&path, &json, false)?;
    Ok(path)
}

/// Parses a provenance envelope file's bytes (untrusted; size capped by the reader).
pub fn parse_provenance_envelope(bytes: &[u8]) -> Result<Envelope> {
    if u64::try_from(bytes.len()).unwrap_or(u64::MAX) > MAX_PROVENANCE_BYTES {
        return Err(RegistryError::malformed(
            "provenance",
            format!("larger than {MAX_PROVENANCE_BYTES} bytes"),
        ));
    }
    let envelope: Envelope = serde_json::from_slice(bytes)
        .map_err(|e| RegistryError::malformed("provenance envelope", e.to_string()))?;
    if envelope.payload_type != IN_TOTO_PAYLOAD_TYPE {
        return Err(RegistryError::Unsupported {
            what: "DSSE payload type",
            value: envelope.payload_type,
            hint: "expected `application/vnd.in-toto+json`",
        });
    }
    Ok(envelope)
}

/// Parses and checks a provenance statement's payload (after its signature verified).
pub fn parse_provenance_statement(
    payload: &[u8],
) -> Result<(Vec<ResourceDescriptor>, SlsaProvenance)> {
    let statement = Statement::parse(payload, SLSA_PROVENANCE_V1)?;
    let provenance: SlsaProvenance = serde_json::from_value(statement.predicate)
        .map_err(|e| RegistryError::malformed("SLSA provenance", e.to_string()))?;
    if provenance.build_definition.build_type.is_empty()
        || provenance.run_details.builder.id.is_empty()
    {
        return Err(RegistryError::malformed(
            "SLSA provenance",
            "`buildType` and `builder.id` are required",
        ));
    }
    if provenance.build_definition.resolved_dependencies.len() > MAX_DEPENDENCIES {
        return Err(RegistryError::malformed(
            "SLSA provenance",
            format!("more than {MAX_DEPENDENCIES} resolved dependencies"),
        ));
    }
    let metadata = &provenance.run_details.metadata;
    for time in [&metadata.started_on, &metadata.finished_on]
        .into_iter()
        .flatten()
    {
        if DateTime::parse_from_rfc3339(time).is_err() {
            return Err(RegistryError::malformed(
                "SLSA provenance",
                format!("timestamp `{}` is not RFC 3339", time.escape_debug()),
            ));
        }
    }
    Ok((statement.subject, provenance))
}

/// Verifies `DIR/provenance.json` with a key trusted for the model and checks
/// that its subjects are exactly the model's current files.
pub fn show_provenance(dir: &Path, trust: &TrustPolicy) -> Result<VerifiedProvenance> {
    let path = dir.join(PROVENANCE_FILE);
    let bytes = read_capped(&path, MAX_PROVENANCE_BYTES, "provenance")?;
    let envelope = parse_provenance_envelope(&bytes)?;
    let model = model_name(dir);
    let hints: Vec<&str> = envelope.key_hints().collect();
    let mut verified = None;
    for key in trust.keys_for_model(&model) {
        if !hints.is_empty() && !hints.contains(&key.key_id().as_str()) {
            continue;
        }
        if let Ok(payload) = envelope.verify(key.public_key(), &model) {
            verified = Some((payload, key));
            break;
        }
    }
    let Some((payload, key)) = verified else {
        return Err(RegistryError::Untrusted {
            model,
            key_id: hints
                .first()
                .map_or_else(|| "unknown".to_owned(), |h| h.chars().take(64).collect()),
        });
    };
    let (subjects, provenance) = parse_provenance_statement(&payload)?;
    let mut claimed = Vec::with_capacity(subjects.len());
    for subject in &subjects {
        let name = subject.name.as_deref().unwrap_or_default();
        let digest = subject.sha256_digest().ok_or_else(|| {
            RegistryError::malformed(
                "SLSA provenance",
                format!("subject `{}` has no sha256 digest", name.escape_debug()),
            )
        })?;
        claimed.push((ResourceName::new(name)?, digest));
    }
    let claimed = Manifest::from_files(claimed)?;
    let actual = hash_model_dir(dir, &provenance_ignore())?;
    if let Some(diff) = claimed.diff(&actual) {
        return Err(RegistryError::Mismatch { model, diff });
    }
    Ok(VerifiedProvenance {
        provenance,
        subjects,
        key_id: key.key_id().clone(),
        key_name: key.name().to_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(dataset: &Path) -> TrainingRun {
        TrainingRun {
            parameters: serde_json::json!({ "trees": 100, "learning_rate": 0.1 }),
            datasets: vec![dataset_file(dataset).unwrap()],
            invocation_id: "run-1".to_owned(),
            started_on: DateTime::from_timestamp(1_700_000_000, 0).unwrap(),
            finished_on: DateTime::from_timestamp(1_700_000_100, 0).unwrap(),
        }
    }

    #[test]
    fn write_then_show_round_trips_and_detects_changes() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("scorer");
        std::fs::create_dir(&dir).unwrap();
        std::fs::write(dir.join("model.json"), b"{}").unwrap();
        let data = tmp.path().join("train.csv");
        std::fs::write(&data, b"a,b\n1,2\n").unwrap();
        let key = EcdsaSigningKey::generate().unwrap();
        let trust = TrustPolicy::single(key.verifying_key(), "k", &["scorer"]).unwrap();

        write_provenance(&dir, &key, &run(&data)).unwrap();
        let shown = show_provenance(&dir, &trust).unwrap();
        let meta = &shown.provenance.run_details.metadata;
        assert_eq!(meta.started_on.as_deref(), Some("2023-11-14T22:13:20Z"));
        assert_eq!(shown.provenance.run_details.builder.id, builder_id());
        let dep = &shown.provenance.build_definition.resolved_dependencies[0];
        assert_eq!(dep.name.as_deref(), Some("train.csv"));
        assert_eq!(shown.subjects.len(), 1);

        // A key trusted for other models does not vouch for this one.
        let other = TrustPolicy::single(key.verifying_key(), "k", &["detector-*"]).unwrap();
        assert!(matches!(
            show_provenance(&dir, &other),
            Err(RegistryError::Untrusted { .. })
        ));

        std::fs::write(dir.join("model.json"), b"{\"x\":1}").unwrap();
        let err = show_provenance(&dir, &trust).unwrap_err();
        assert!(err.to_string().contains("`model.json`"), "{err}");
    }

    #[test]
    fn bad_envelopes_are_clear_errors() {
        assert!(parse_provenance_envelope(b"").is_err());
        assert!(parse_provenance_envelope(b"{\"payload\":1}").is_err());
        let wrong_type = br#"{"payload":"","payloadType":"text/plain","signatures":[]}"#;
        assert!(matches!(
            parse_provenance_envelope(wrong_type),
            Err(RegistryError::Unsupported { .. })
        ));
        assert!(parse_provenance_statement(b"{}").is_err());
    }
}
