//! After detection: alerts become incidents over the entity graph, the policies decide what to
//! do about each incident (every decision recorded in the audit log first), automatic actions
//! run through their executor, and each incident gets a narrative.
//!
//! ```text
//! alerts (writer thread) -> correlate -> incidents -> decide (Cedar, audited) -> execute
//!                                                  \-> narrate (deterministic or guarded LLM)
//! ```
//!
//! Everything is idempotent: incident and decision ids derive from their content, the decider
//! skips decisions the store already holds, executors skip decision ids they already ran, and
//! narratives are rewritten in place.

use std::path::{Path, PathBuf};

use anyhow::Context as _;
use rampart_audit::AuditSink;
use rampart_core::{Alert, Decision, EntityRef, Incident};
use rampart_correlate::{
    CorrelateConfig, CorrelatedIncident, Correlator, TacticOrder, normalise_tactic,
};
use rampart_decide::{
    Authorized, Autonomy, Decider, DryRun, Executor, Facts, FileAppend, PolicySet, Webhook,
    execute_audited,
};
use rampart_enrich::{Catalog, Inventory};
use rampart_narrate::{FactSheet, LlmConfig, LlmRenderer, Narrative, Narrator};
use rampart_store::Store;
use serde::{Deserialize, Serialize};
use tracing::{debug, warn};

use crate::config::Config;
use crate::detection::Detectors;

/// `[decide]`: which policies decide and what executes their actions.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DecideConfig {
    /// Cedar policy files or directories used instead of the built-in set. Default none (the
    /// built-in set, `crates/pipeline/decide/policies/default.cedar`).
    pub policies: Vec<PathBuf>,
    /// How much autonomy each action has. Default: `close_as_benign`, `escalate` and
    /// `request_approval` automatic; `contain_host` and `block_indicator` need 2 approvals
    /// from distinct people, none of them the requester.
    pub autonomy: Autonomy,
    /// Where cleared actions go: `dry-run` (recorded, never executed), `file:PATH` (one JSON line
    /// per action) or an `http://`/`https://` webhook URL. Default `dry-run`.
    pub executor: String,
    /// How long a webhook call may take, in milliseconds. Default 5000.
    pub webhook_timeout_ms: u64,
}

impl Default for DecideConfig {
    fn default() -> Self {
        Self {
            policies: Vec::new(),
            autonomy: Autonomy::default(),
            executor: "dry-run".to_owned(),
            webhook_timeout_ms: 5000,
        }
    }
}

impl DecideConfig {
    /// The executor the configuration names.
    pub fn executor(&self) -> anyhow::Result<Box<dyn Executor>> {
        let spec = self.executor.trim();
        if spec == "dry-run" {
            return Ok(Box::new(DryRun::new()));
        }
        if let Some(path) = spec.strip_prefix("file:") {
            return Ok(Box::new(FileAppend::open(Path::new(path)).with_context(
                || format!("cannot open the action file `{path}`"),
            )?));
        }
        if spec.starts_with("http://") || spec.starts_with("https://") {
            return Ok(Box::new(
                Webhook::new(
                    spec,
                    std::time::Duration::from_millis(self.webhook_timeout_ms),
                )
                .with_context(|| format!("invalid webhook `{spec}`"))?,
            ));
        }
        anyhow::bail!(
            "`decide.executor` must be `dry-run`, `file:PATH` or an http(s) URL, got `{spec}`"
        )
    }

    /// The policy set: the configured files, or the built-in set. Policies that fail to parse
    /// or validate are reported and left out; the rest still decide.
    pub fn policy_set(&self) -> anyhow::Result<PolicySet> {
        if self.policies.is_empty() {
            return PolicySet::default_set().context("the built-in policies do not load");
        }
        let mut sources = Vec::new();
        for path in &self.policies {
            for file in crate::models::files_under(path)? {
                let text = std::fs::read_to_string(&file)
                    .with_context(|| format!("cannot read policy file `{}`", file.display()))?;
                sources.push((file.display().to_string(), text));
            }
        }
        let refs: Vec<(&str, &str)> = sources
            .iter()
            .map(|(n, t)| (n.as_str(), t.as_str()))
            .collect();
        let (set, errors) = PolicySet::from_sources(&refs)?;
        for error in &errors {
            warn!(%error, "policy not loaded");
        }
        anyhow::ensure!(!set.is_empty(), "no policy of `decide.policies` loaded");
        Ok(set)
    }
}

/// A multiplier on entity risk from the asset inventory: 1 for an ordinary or unknown asset,
/// up to 2 for a critical one.
pub fn criticality_of(inventory: &Inventory, entity: &EntityRef) -> f64 {
    inventory
        .get(entity)
        .map_or(1.0, |asset| match asset.criticality.level() {
            1 => 0.75,
            2 => 1.0,
            3 => 1.25,
            4 => 1.5,
            _ => 2.0,
        })
}

/// The catalogue's kill chain: tactics ranked and named as ATT&CK and ATLAS name them.
struct CatalogOrder(Catalog);

impl TacticOrder for CatalogOrder {
    fn rank(&self, tactic: &str) -> Option<usize> {
        self.0.tactic(tactic).map(|t| usize::from(t.order))
    }

    fn canonical(&self, tactic: &str) -> String {
        self.0
            .tactic(tactic)
            .map_or_else(|| tactic.to_owned(), |t| t.name.clone())
    }
}

/// The correlator of a run, with the catalogue's kill-chain order and the inventory's
/// criticality.
pub fn correlator(
    config: &CorrelateConfig,
    catalog: &Catalog,
    inventory: &Inventory,
) -> anyhow::Result<Correlator> {
    let order = CatalogOrder(catalog.clone());
    let inventory = inventory.clone();
    let criticality = move |entity: &EntityRef| criticality_of(&inventory, entity);
    Correlator::with_context(config.clone(), Box::new(order), Box::new(criticality))
        .context("invalid `[correlate]` configuration")
}

/// What the response stage did in one run.
#[derive(Debug, Default, Serialize)]
pub struct ResponseSummary {
    /// Incidents reported.
    pub incidents: u64,
    /// Decisions recorded for the first time.
    pub decisions: u64,
    /// Actions run by the executor (automatic ones; approved ones run on approval).
    pub actions_executed: u64,
    /// Narratives written.
    pub narratives: u64,
    /// Narratives that fell back from the LLM to the deterministic renderer.
    pub narrative_fallbacks: u64,
}

/// The response stage of one run.
pub struct Responder<'a> {
    store: &'a dyn Store,
    audit: &'a dyn AuditSink,
    data_dir: PathBuf,
    correlator: Correlator,
    decider: Decider,
    executor: Box<dyn Executor>,
    narrator: Narrator,
    catalog: Catalog,
    inventory: Inventory,
    summary: ResponseSummary,
}

impl<'a> Responder<'a> {
    /// Builds the stage from the configuration.
    pub fn new(
        data_dir: &Path,
        config: &Config,
        detectors: &Detectors,
        store: &'a dyn Store,
        audit: &'a dyn AuditSink,
    ) -> anyhow::Result<Self> {
        let policies = config.decide.policy_set()?;
        let known_store = KnownInStore::snapshot(store)?;
        let decider = Decider::new(policies, config.decide.autonomy.clone())
            .context("invalid `[decide]` configuration")?
            .with_known_decisions(Box::new(move |id| known_store.contains(id)));
        let llm_config: LlmConfig = config.narrate.clone().with_env();
        let narrator = if llm_config.enabled {
            let guard = rampart_guard::Guard::load_default().context("cannot load the guard")?;
            Narrator::with_llm(
                LlmRenderer::new(llm_config, guard).context("invalid `[narrate]` configuration")?,
            )
        } else {
            Narrator::deterministic()
        };
        Ok(Self {
            store,
            audit,
            data_dir: data_dir.to_path_buf(),
            correlator: correlator(
                &config.correlate,
                detectors.catalog(),
                detectors.inventory(),
            )?,
            decider,
            executor: config.decide.executor()?,
            narrator,
            catalog: detectors.catalog().clone(),
            inventory: detectors.inventory().clone(),
            summary: ResponseSummary::default(),
        })
    }

    /// Feeds stored alerts to the correlator and handles the incidents whose windows closed.
    pub fn observe(&mut self, alerts: &[Alert]) -> anyhow::Result<()> {
        for alert in alerts {
            for closed in self.correlator.observe(alert.clone()) {
                self.handle(&closed)?;
            }
        }
        Ok(())
    }

    /// Closes every open incident, handles it, and returns what the stage did.
    pub fn finish(mut self) -> anyhow::Result<ResponseSummary> {
        for closed in self.correlator.finish() {
            self.handle(&closed)?;
        }
        Ok(self.summary)
    }

    fn handle(&mut self, closed: &CorrelatedIncident) -> anyhow::Result<()> {
        let incident = &closed.incident;
        let alerts: Vec<Alert> = closed.alerts.iter().map(|m| m.alert.clone()).collect();
        self.store
            .put_incidents(std::slice::from_ref(incident))
            .context("cannot store an incident")?;
        self.summary.incidents += 1;
        self.record_risk(closed)?;

        let inventory = &self.inventory;
        let mut facts = Facts::from_incident(incident, &alerts, &|e| criticality_of(inventory, e));
        // Incidents name their tactics for people ("Lateral Movement"); policies are written
        // against ATT&CK shortnames ("lateral-movement").
        facts.tactics = facts
            .tactics
            .iter()
            .map(|t| {
                self.catalog
                    .tactic(t)
                    .map_or_else(|| normalise_tactic(t), |t| t.shortname.clone())
            })
            .collect();
        let decided = self
            .decider
            .decide(incident, &facts, self.audit)
            .with_context(|| format!("cannot decide about incident `{}`", incident.id))?;
        let fresh: Vec<Decision> = decided.iter().map(|d| d.decision().clone()).collect();
        self.store
            .put_decisions(&fresh)
            .context("cannot store decisions")?;
        self.summary.decisions += fresh.len() as u64;
        for decision in &decided {
            if let Ok(cleared) = Authorized::automatic(decision) {
                match execute_audited(self.executor.as_ref(), &cleared, self.audit) {
                    Ok(_) => self.summary.actions_executed += 1,
                    Err(error) => warn!(decision = %decision.id(), %error, "action failed"),
                }
            }
        }

        let decisions = self
            .store
            .decisions(
                Some(incident.id),
                rampart_store::Page::first(rampart_store::Page::MAX_LIMIT),
            )
            .context("cannot read the incident's decisions")?
            .items;
        let catalog = &self.catalog;
        let sheet = FactSheet::build_within(
            incident,
            &alerts,
            &decisions,
            &|id| catalog.technique(id).map(|t| t.name.clone()),
            6_000,
        );
        let narrative = self.narrator.narrate(&sheet, self.audit);
        if narrative.fallback_reason.is_some() {
            self.summary.narrative_fallbacks += 1;
        }
        write_narrative(&self.data_dir, &narrative)?;
        self.summary.narratives += 1;
        debug!(incident = %incident.id, alerts = alerts.len(), score = incident.score, "incident");
        Ok(())
    }
}

impl Responder<'_> {
    /// Records the alerts the ledger holds for the incident's entities at the time its score
    /// was read, as the ledger holds them (repeats folded in, times widened), so that
    /// `rampart incidents explain` replays exactly the run's arithmetic.
    fn record_risk(&self, closed: &CorrelatedIncident) -> anyhow::Result<()> {
        let incident = &closed.incident;
        // The explanation names only the riskiest entity's contributions; a replay without
        // one alert may make another entity the riskiest, so every entity's are recorded.
        let at = closed.explanation.at;
        let mut ids = std::collections::BTreeSet::new();
        for entity in &incident.entities {
            for c in self.correlator.ledger().contributions(entity, at) {
                ids.insert(c.alert_id);
            }
        }
        let mut alerts = Vec::with_capacity(ids.len());
        for id in ids {
            match closed.alerts.iter().find(|m| m.alert.id == id) {
                Some(merged) => alerts.push(merged.alert.clone()),
                // An alert of another incident sharing a (hub) entity: as stored.
                None => alerts.extend(self.store.alert(id).context("cannot read an alert")?),
            }
        }
        let record = RiskRecord {
            at,
            score: incident.score,
            alerts,
        };
        let path = risk_record_path(&self.data_dir, incident.id);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)
                .with_context(|| format!("cannot create `{}`", parent.display()))?;
        }
        std::fs::write(&path, serde_json::to_vec_pretty(&record)?)
            .with_context(|| format!("cannot write `{}`", path.display()))
    }
}

/// The alerts behind an incident's score and when it was read: enough to replay the score.
#[derive(Debug, Serialize, Deserialize)]
pub struct RiskRecord {
    /// When the score was read (the incident's last event time).
    pub at: chrono::DateTime<chrono::Utc>,
    /// The score the run stored.
    pub score: f64,
    /// Every alert the ledger held for the incident's entities at that time, as it held them.
    pub alerts: Vec<Alert>,
}

/// `DATA_DIR/incidents/<id>.risk.json`.
pub fn risk_record_path(data_dir: &Path, id: rampart_core::IncidentId) -> PathBuf {
    data_dir.join("incidents").join(format!("{id}.risk.json"))
}

/// Reads an incident's risk record, if the run wrote one.
pub fn read_risk_record(
    data_dir: &Path,
    id: rampart_core::IncidentId,
) -> anyhow::Result<Option<RiskRecord>> {
    let path = risk_record_path(data_dir, id);
    if !path.exists() {
        return Ok(None);
    }
    let bytes =
        std::fs::read(&path).with_context(|| format!("cannot read `{}`", path.display()))?;
    Ok(Some(serde_json::from_slice(&bytes).with_context(|| {
        format!("`{}` is not a risk record", path.display())
    })?))
}

/// Decision ids already in the store when the run started.
struct KnownInStore(std::collections::HashSet<rampart_core::DecisionId>);

impl KnownInStore {
    fn snapshot(store: &dyn Store) -> anyhow::Result<Self> {
        let decisions = rampart_store::collect_pages(|page| store.decisions(None, page))
            .context("cannot list decisions")?;
        Ok(Self(decisions.iter().map(|d| d.id).collect()))
    }

    fn contains(&self, id: &rampart_core::DecisionId) -> bool {
        self.0.contains(id)
    }
}

/// Where a data dir keeps its narratives.
pub fn narratives_dir(data_dir: &Path) -> PathBuf {
    data_dir.join("narratives")
}

/// Writes `DATA_DIR/narratives/<incident>.md` and `.json`.
pub fn write_narrative(data_dir: &Path, narrative: &Narrative) -> anyhow::Result<()> {
    let dir = narratives_dir(data_dir);
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create `{}`", dir.display()))?;
    let base = dir.join(narrative.incident_id.to_string());
    std::fs::write(base.with_extension("md"), &narrative.text)
        .with_context(|| format!("cannot write `{}.md`", base.display()))?;
    std::fs::write(
        base.with_extension("json"),
        serde_json::to_vec_pretty(narrative)?,
    )
    .with_context(|| format!("cannot write `{}.json`", base.display()))?;
    Ok(())
}

/// Reads a stored narrative, if the incident has one.
pub fn read_narrative(data_dir: &Path, incident: &Incident) -> anyhow::Result<Option<Narrative>> {
    let path = narratives_dir(data_dir)
        .join(incident.id.to_string())
        .with_extension("json");
    if !path.exists() {
        return Ok(None);
    }
    let bytes =
        std::fs::read(&path).with_context(|| format!("cannot read `{}`", path.display()))?;
    Ok(Some(serde_json::from_slice(&bytes).with_context(|| {
        format!("`{}` is not a narrative", path.display())
    })?))
}
