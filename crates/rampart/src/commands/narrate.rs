//! `rampart narrate --incident ID [--llm]`: writes the incident's narrative again, with the
//! deterministic renderer or through the guarded LLM renderer.

use std::path::Path;

use anyhow::Context as _;
use clap::Args;
use rampart_core::IncidentId;
use rampart_enrich::Catalog;
use rampart_narrate::{FactSheet, LlmConfig, LlmRenderer, Narrator};
use rampart_store::{Page, Store};

use crate::config::Config;
use crate::output::print_json;

/// Arguments of `rampart narrate`.
#[derive(Debug, Args)]
pub struct NarrateArgs {
    /// The incident's id (`inc_…`).
    #[arg(long)]
    pub incident: IncidentId,
    /// Use the LLM renderer configured under `[narrate]` (endpoint, model and key also from
    /// `RAMPART_LLM_ENDPOINT`, `RAMPART_LLM_MODEL`, `RAMPART_LLM_API_KEY`). Its answer is
    /// validated against the evidence; anything that fails falls back to the deterministic
    /// narrative with the reason shown.
    #[arg(long)]
    pub llm: bool,
}

/// Runs `rampart narrate`.
pub fn run(args: &NarrateArgs, data_dir: &Path, config: &Config, json: bool) -> anyhow::Result<()> {
    let store = super::open_existing_store(data_dir, config)?;
    let audit = crate::audit_log::open(data_dir)?;
    let incident = store
        .incident(args.incident)
        .context("cannot read the incident")?
        .with_context(|| format!("no incident `{}` in this data dir", args.incident))?;
    let mut alerts = Vec::new();
    for id in &incident.alert_ids {
        if let Some(alert) = store.alert(*id)? {
            alerts.push(alert);
        }
    }
    let decisions = store
        .decisions(Some(incident.id), Page::first(Page::MAX_LIMIT))?
        .items;
    let mut events = Vec::new();
    for id in alerts.iter().flat_map(|a| a.event_ids.iter()).take(200) {
        if let Some(event) = store.event(*id)? {
            events.push(event);
        }
    }
    let catalog = Catalog::embedded();
    let mut sheet = FactSheet::build(&incident, &alerts, &decisions, &|id| {
        catalog.technique(id).map(|t| t.name.clone())
    });
    let narrator = if args.llm {
        let mut llm: LlmConfig = config.narrate.clone().with_env();
        llm.enabled = true;
        // Untrusted event text goes only to the LLM path, where it is screened first.
        sheet.attach_events(&events);
        let guard = rampart_guard::Guard::load_default().context("cannot load the guard")?;
        Narrator::with_llm(LlmRenderer::new(llm, guard).context(
            "the LLM renderer is not configured: set `[narrate] endpoint` and `model` (or RAMPART_LLM_ENDPOINT / RAMPART_LLM_MODEL)",
        )?)
    } else {
        Narrator::deterministic()
    };
    let narrative = narrator.narrate(&sheet, &audit);
    crate::response::write_narrative(data_dir, &narrative)?;
    if json {
        return print_json(&narrative);
    }
    if let Some(reason) = &narrative.fallback_reason {
        eprintln!("the LLM narrative was refused, deterministic narrative shown: {reason}");
    }
    println!("{}", narrative.text);
    Ok(())
}
