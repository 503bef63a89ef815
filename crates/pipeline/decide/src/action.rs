//! The actions policies can decide on, and how much autonomy each has.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use rampart_core::ActionMode;
use serde::{Deserialize, Serialize};

use crate::DecideError;

/// An action a policy can permit for an incident.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ActionKind {
    /// Close the incident as benign.
    CloseAsBenign,
    /// Raise it to an analyst with priority.
    Escalate,
    /// Ask analysts to review it and approve a response.
    RequestApproval,
    /// Isolate its hosts from the network (high impact).
    ContainHost,
    /// Block its matched indicators (high impact).
    BlockIndicator,
}

impl ActionKind {
    /// Every action, in the order they are evaluated and reported.
    pub const ALL: [Self; 5] = [
        Self::CloseAsBenign,
        Self::Escalate,
        Self::RequestApproval,
        Self::ContainHost,
        Self::BlockIndicator,
    ];

    /// The name used in policies (`Rampart::Action::"contain_host"`) and decisions.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::CloseAsBenign => "close_as_benign",
            Self::Escalate => "escalate",
            Self::RequestApproval => "request_approval",
            Self::ContainHost => "contain_host",
            Self::BlockIndicator => "block_indicator",
        }
    }

    /// Whether the action changes the environment in a way that hurts if wrong.
    pub fn is_high_impact(self) -> bool {
        matches!(self, Self::ContainHost | Self::BlockIndicator)
    }
}

impl fmt::Display for ActionKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for ActionKind {
    type Err = DecideError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL.into_iter().find(|a| a.as_str() == s).ok_or_else(|| {
            DecideError::InvalidConfig(format!(
                "unknown action `{s}`; expected one of close_as_benign, escalate, request_approval, contain_host, block_indicator"
            ))
        })
    }
}

/// Graded autonomy: the mode of each action and the auto-revert timer of automatic ones
/// (`[decide]` in `rampart.toml`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Autonomy {
    /// Mode per action. Defaults: `close_as_benign`, `escalate` and `request_approval` are
    /// `automatic`; `contain_host` and `block_indicator` need 2 approvals.
    pub modes: BTreeMap<ActionKind, ActionMode>,
    /// Seconds after which an automatic action is undone (e.g. a block that expires); absent
    /// means never. Only meaningful for automatic actions.
    pub auto_revert_secs: BTreeMap<ActionKind, u64>,
    /// When true, every action is recorded as `dry_run` whatever `modes` says.
    pub dry_run: bool,
}

/// Approvals required by default for high-impact actions.
pub const DEFAULT_QUORUM: u8 = 2;

/// High-impact actions need [`DEFAULT_QUORUM`] approvals; the others are automatic.
fn default_mode(action: ActionKind) -> ActionMode {
    if action.is_high_impact() {
        ActionMode::NeedsApproval(DEFAULT_QUORUM)
    } else {
        ActionMode::Automatic
    }
}

impl Default for Autonomy {
    fn default() -> Self {
        let modes = ActionKind::ALL
            .into_iter()
            .map(|a| (a, default_mode(a)))
            .collect();
        Self {
            modes,
            auto_revert_secs: BTreeMap::new(),
            dry_run: false,
        }
    }
}

impl Autonomy {
    /// Every action in dry-run mode: decisions are recorded, nothing is executed.
    pub fn dry_run() -> Self {
        Self {
            dry_run: true,
            ..Self::default()
        }
    }

    /// The mode of `action`: dry-run when globally so, else the configured mode, else (for an
    /// action missing from `modes`) its default mode, so configuring one action leaves the
    /// others as documented.
    pub fn mode(&self, action: ActionKind) -> ActionMode {
        if self.dry_run {
            return ActionMode::DryRun;
        }
        self.modes
            .get(&action)
            .copied()
            .unwrap_or_else(|| default_mode(action))
    }

    /// Seconds until an automatic `action` reverts, if it does.
    pub fn revert_after(&self, action: ActionKind) -> Option<u64> {
        match self.mode(action) {
            ActionMode::Automatic => self.auto_revert_secs.get(&action).copied(),
            ActionMode::DryRun | ActionMode::NeedsApproval(_) => None,
        }
    }

    /// Checks that no quorum is zero.
    pub fn validate(&self) -> Result<(), DecideError> {
        for (action, mode) in &self.modes {
            if *mode == ActionMode::NeedsApproval(0) {
                return Err(DecideError::InvalidConfig(format!(
                    "`{action}` needs at least one approval; use `automatic` for none"
                )));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn high_impact_actions_need_two_approvals_by_default() {
        let autonomy = Autonomy::default();
        assert_eq!(
            autonomy.mode(ActionKind::ContainHost),
            ActionMode::NeedsApproval(2)
        );
        assert_eq!(
            autonomy.mode(ActionKind::BlockIndicator),
            ActionMode::NeedsApproval(2)
        );
        assert_eq!(autonomy.mode(ActionKind::Escalate), ActionMode::Automatic);
        assert_eq!(
            Autonomy::dry_run().mode(ActionKind::Escalate),
            ActionMode::DryRun
        );
        let missing = Autonomy {
            modes: BTreeMap::new(),
            ..Autonomy::default()
        };
        assert_eq!(missing.mode(ActionKind::Escalate), ActionMode::Automatic);
        assert_eq!(
            missing.mode(ActionKind::ContainHost),
            ActionMode::NeedsApproval(2)
        );
    }

    #[test]
    fn parses_from_toml_like_json_and_rejects_zero_quorum() {
        let autonomy: Autonomy = serde_json::from_str(
            r#"{"modes":{"block_indicator":"automatic","contain_host":{"needs_approval":3}},"auto_revert_secs":{"block_indicator":86400}}"#,
        )
        .unwrap();
        assert_eq!(
            autonomy.mode(ActionKind::ContainHost),
            ActionMode::NeedsApproval(3)
        );
        assert_eq!(
            autonomy.revert_after(ActionKind::BlockIndicator),
            Some(86_400)
        );
        let zero: Autonomy =
            serde_json::from_str(r#"{"modes":{"contain_host":{"needs_approval":0}}}"#).unwrap();
        assert!(zero.validate().is_err());
        assert!("nuke".parse::<ActionKind>().is_err());
    }
}
