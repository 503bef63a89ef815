//! The logsource index: rules grouped by the events they can see, each group with its
//! literal prefilter.

use std::collections::HashMap;

use rampart_core::Event;
use serde_json::Value;

use crate::logsource::{Route, SYSMON};
use crate::prefilter::Prefilter;
use crate::view::EventView;

/// The rules of one route, with their prefilter.
#[derive(Debug, Default, Clone)]
pub(crate) struct Bucket {
    rules: Vec<usize>,
    prefilter: Prefilter,
}

impl Bucket {
    fn push(&mut self, rule: usize) {
        self.rules.push(rule);
    }

    fn candidates(&self, view: &mut EventView<'_, '_>, prefilter: bool, out: &mut Vec<usize>) {
        if prefilter {
            self.prefilter.candidates(view, out);
        } else {
            out.extend_from_slice(&self.rules);
        }
    }
}

/// Rules by the events they can see.
#[derive(Debug, Default, Clone)]
pub(crate) struct RouteIndex {
    channel_event: HashMap<(String, u32), Bucket>,
    channel: HashMap<String, Bucket>,
    any_windows: Bucket,
    zeek: HashMap<String, Bucket>,
    ecs: Vec<(&'static str, Option<&'static str>, usize)>,
}

impl RouteIndex {
    pub(crate) fn add(&mut self, route: &Route, rule: usize) {
        match route {
            Route::Channel {
                channel,
                event_ids: Some(ids),
            } => {
                for id in ids {
                    self.channel_event
                        .entry((channel.clone(), *id))
                        .or_default()
                        .push(rule);
                }
            }
            Route::Channel {
                channel,
                event_ids: None,
            } => self.channel.entry(channel.clone()).or_default().push(rule),
            Route::AnyWindows => self.any_windows.push(rule),
            Route::Zeek(log) => self.zeek.entry(log.clone()).or_default().push(rule),
            Route::EcsCategory { category, kind } => self.ecs.push((category, *kind, rule)),
        }
    }

    /// Builds every bucket's prefilter from the rules' literal requirements.
    pub(crate) fn seal(&mut self, requirements: &[Option<Vec<(usize, String)>>]) {
        let buckets = self
            .channel_event
            .values_mut()
            .chain(self.channel.values_mut())
            .chain(self.zeek.values_mut())
            .chain(std::iter::once(&mut self.any_windows));
        for bucket in buckets {
            bucket.prefilter = Prefilter::build(&bucket.rules, requirements);
        }
    }

    /// Every rule that can see the event (and, with `prefilter`, that has a required literal
    /// in it), each once, in rule order.
    pub(crate) fn candidates(
        &self,
        event: &Event,
        view: &mut EventView<'_, '_>,
        prefilter: bool,
        out: &mut Vec<usize>,
    ) {
        let key = EventKey::of(event);
        if key.windows {
            if let Some(channel) = &key.channel {
                if let Some(id) = key.event_id
                    && let Some(bucket) = self.channel_event.get(&(channel.clone(), id))
                {
                    bucket.candidates(view, prefilter, out);
                }
                if let Some(bucket) = self.channel.get(channel) {
                    bucket.candidates(view, prefilter, out);
                }
            }
            self.any_windows.candidates(view, prefilter, out);
        } else {
            if let Some(log) = key.zeek_log
                && let Some(bucket) = self.zeek.get(log)
            {
                bucket.candidates(view, prefilter, out);
            }
            for (category, kind, rule) in &self.ecs {
                if ecs_route_matches(event, category, *kind) {
                    out.push(*rule);
                }
            }
        }
        if out.len() > 1 {
            out.sort_unstable();
            out.dedup();
        }
    }
}

fn ecs_route_matches(event: &Event, category: &str, kind: Option<&str>) -> bool {
    let meta = &event.ecs.event;
    meta.category.iter().any(|c| c == category)
        && kind.is_none_or(|kind| meta.kind_type.iter().any(|t| t == kind))
}

/// What routing needs to know about an event.
pub(crate) struct EventKey<'e> {
    windows: bool,
    channel: Option<String>,
    event_id: Option<u32>,
    zeek_log: Option<&'e str>,
}

impl<'e> EventKey<'e> {
    pub(crate) fn of(event: &'e Event) -> Self {
        let attributes = &event.attributes;
        let event_id = attributes
            .get("winlog.event_id")
            .and_then(Value::as_u64)
            .and_then(|id| u32::try_from(id).ok());
        let provider = attributes
            .get("winlog.provider_name")
            .and_then(Value::as_str);
        let channel = attributes
            .get("winlog.channel")
            .and_then(Value::as_str)
            .map(str::to_ascii_lowercase)
            .or_else(|| {
                provider
                    .filter(|p| p.eq_ignore_ascii_case("Microsoft-Windows-Sysmon"))
                    .map(|_| SYSMON.to_owned())
            });
        let zeek_log = event
            .ecs
            .event
            .dataset
            .as_deref()
            .and_then(|dataset| dataset.strip_prefix("zeek."));
        Self {
            windows: event_id.is_some(),
            channel,
            event_id,
            zeek_log,
        }
    }

    /// Whether a route admits the event.
    pub(crate) fn admits(&self, route: &Route, event: &Event) -> bool {
        match route {
            Route::Channel { channel, event_ids } => {
                self.windows
                    && self.channel.as_deref() == Some(channel.as_str())
                    && event_ids
                        .as_ref()
                        .is_none_or(|ids| self.event_id.is_some_and(|id| ids.contains(&id)))
            }
            Route::AnyWindows => self.windows,
            Route::Zeek(log) => !self.windows && self.zeek_log == Some(log.as_str()),
            Route::EcsCategory { category, kind } => {
                !self.windows && ecs_route_matches(event, category, *kind)
            }
        }
    }
}
