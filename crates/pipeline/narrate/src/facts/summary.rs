//! Hierarchical summarisation of a fact sheet to a token budget.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};

use super::{
    AlertFact, AlertGroup, Detail, FactSheet, GROUP_SAMPLE, entity_parts, group_parts, part_tokens,
};

impl FactSheet {
    /// Summarises the sheet until its evidence fits `max_tokens` (estimated with
    /// [`estimate_tokens`]): event fields are dropped first, then alerts are grouped by rule
    /// and host, then by rule, then the least severe groups and the least cited entities are
    /// dropped. Counts of everything left out are kept in [`FactSheet::omitted`].
    pub fn fit(&mut self, max_tokens: usize) {
        if self.estimated_tokens() <= max_tokens {
            return;
        }
        self.omitted.event_fields += self.event_fields.len();
        self.event_fields.clear();
        if self.estimated_tokens() <= max_tokens {
            return;
        }
        if self.detail == Detail::Full {
            self.groups = group_alerts(&self.alerts, true);
            self.omitted.alerts += self.alerts.len();
            self.alerts.clear();
            self.detail = Detail::ByRuleAndHost;
            if self.estimated_tokens() <= max_tokens {
                return;
            }
        }
        if self.detail == Detail::ByRuleAndHost {
            self.groups = regroup_by_rule(&self.groups);
            self.detail = Detail::ByRule;
            if self.estimated_tokens() <= max_tokens {
                return;
            }
        }
        self.detail = Detail::TopRules;
        // Most severe, largest groups first; drop from the end.
        self.groups
            .sort_by(|a, b| (b.level, b.count, &a.rule_id).cmp(&(a.level, a.count, &b.rule_id)));
        // Each drop subtracts the item's own cost instead of re-estimating the whole sheet
        // (linear, not quadratic, in the number of groups and entities); ids shared between
        // items make this an overestimate, so the exact check below rarely drops more.
        let mut total = self.estimated_tokens();
        while total > max_tokens {
            let Some(cost) = self.drop_one() else { break };
            total = total.saturating_sub(cost);
        }
        while self.estimated_tokens() > max_tokens && self.drop_one().is_some() {}
    }

    /// Drops the least cited entity while entities outnumber groups, else the least severe
    /// group (keeping one), else an entity; returns the estimated tokens freed.
    fn drop_one(&mut self) -> Option<usize> {
        let cost = |parts: Vec<(String, &'static str, String)>| -> usize {
            parts.iter().map(|(_, f, t)| part_tokens(f, t)).sum()
        };
        if self.entities.len() > self.groups.len()
            && let Some(e) = self.entities.pop()
        {
            self.omitted.entities += 1;
            return Some(cost(entity_parts(&e)));
        }
        if self.groups.len() > 1
            && let Some(g) = self.groups.pop()
        {
            self.omitted.groups += 1;
            return Some(cost(group_parts(&g)));
        }
        let e = self.entities.pop()?;
        self.omitted.entities += 1;
        Some(cost(entity_parts(&e)))
    }
}

/// Groups alerts (already in time order) by rule and, when `by_host`, by their first host.
fn group_alerts(alerts: &[AlertFact], by_host: bool) -> Vec<AlertGroup> {
    let mut groups: Vec<AlertGroup> = Vec::new();
    let mut index: BTreeMap<(String, Option<String>), usize> = BTreeMap::new();
    let mut hosts: Vec<BTreeSet<String>> = Vec::new();
    for a in alerts {
        let host = if by_host {
            a.hosts.first().cloned()
        } else {
            None
        };
        let key = (a.rule_id.clone(), host.clone());
        let i = *index.entry(key).or_insert_with(|| {
            groups.push(AlertGroup {
                rule_id: a.rule_id.clone(),
                title: a.title.clone(),
                host,
                hosts: 0,
                count: 0,
                level: a.level,
                max_score: None,
                sample: Vec::new(),
                first_seen: a.first_seen,
                last_seen: a.last_seen,
            });
            hosts.push(BTreeSet::new());
            groups.len() - 1
        });
        if let (Some(g), Some(h)) = (groups.get_mut(i), hosts.get_mut(i)) {
            g.count += 1;
            g.level = g.level.max(a.level);
            g.max_score = max_opt(g.max_score, a.score);
            if g.sample.len() < GROUP_SAMPLE {
                g.sample.push(a.id);
            }
            g.first_seen = min_time(g.first_seen, a.first_seen);
            g.last_seen = max_time(g.last_seen, a.last_seen);
            h.extend(a.hosts.iter().cloned());
            g.hosts = h.len();
        }
    }
    groups
}

fn regroup_by_rule(groups: &[AlertGroup]) -> Vec<AlertGroup> {
    let mut out: Vec<AlertGroup> = Vec::new();
    for g in groups {
        if let Some(o) = out.iter_mut().find(|o| o.rule_id == g.rule_id) {
            o.count += g.count;
            // Host sets are not kept per group; the sum bounds the distinct count.
            o.hosts += g.hosts;
            o.level = o.level.max(g.level);
            o.max_score = max_opt(o.max_score, g.max_score);
            for s in &g.sample {
                if o.sample.len() < GROUP_SAMPLE {
                    o.sample.push(*s);
                }
            }
            o.first_seen = min_time(o.first_seen, g.first_seen);
            o.last_seen = max_time(o.last_seen, g.last_seen);
        } else {
            let mut g = g.clone();
            g.host = None;
            out.push(g);
        }
    }
    out
}

fn max_opt(a: Option<f64>, b: Option<f64>) -> Option<f64> {
    match (a, b) {
        (Some(x), Some(y)) => Some(x.max(y)),
        (x, None) => x,
        (None, y) => y,
    }
}

fn min_time(a: Option<DateTime<Utc>>, b: Option<DateTime<Utc>>) -> Option<DateTime<Utc>> {
    match (a, b) {
        (Some(x), Some(y)) => Some(x.min(y)),
        (x, None) => x,
        (None, y) => y,
    }
}

fn max_time(a: Option<DateTime<Utc>>, b: Option<DateTime<Utc>>) -> Option<DateTime<Utc>> {
    match (a, b) {
        (Some(x), Some(y)) => Some(x.max(y)),
        (x, None) => x,
        (None, y) => y,
    }
}
