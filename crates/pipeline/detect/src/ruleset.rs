//! The rule set: rules compiled, indexed by logsource, and evaluated against events.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use rampart_core::{Alert, Event};
use serde::{Deserialize, Serialize};

use crate::DetectError;
use crate::alert;
use crate::correlation::{self, CorrelationRule};
use crate::detection::FieldTable;
use crate::index::RouteIndex;
use crate::load;
use crate::prefilter;
use crate::rule::{self, Rule, RuleInfo};
use crate::view::EventView;
use crate::yaml::{self, Node};

/// One rule (or rule file) that could not be used, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rejection {
    /// The file (`archive.tar.gz!member` for archive members).
    pub file: String,
    /// The rule's `id` when it got far enough to have one.
    pub rule_id: Option<String>,
    /// Why, naming the offending item (selection, field, modifier, value).
    pub reason: String,
}

impl Rejection {
    /// The kind of reason, for counting: `unsupported logsource`, `unsupported modifier`,
    /// `unsupported regex`, `invalid yaml`, `invalid rule`, ….
    pub fn category(&self) -> &'static str {
        category(&self.reason)
    }
}

fn category(reason: &str) -> &'static str {
    const KINDS: [(&str, &str); 11] = [
        ("unsupported logsource", "unsupported logsource"),
        ("unsupported regex", "unsupported regex"),
        ("modifier `expand`", "unsupported modifier `expand`"),
        ("unsupported modifier", "unsupported modifier"),
        ("aggregation", "unsupported aggregation condition"),
        ("timeframe", "unsupported aggregation condition"),
        ("invalid yaml", "invalid yaml"),
        ("duplicate rule id", "duplicate rule id"),
        ("correlation", "invalid correlation"),
        ("not utf-8", "not utf-8"),
        ("too large", "file too large"),
    ];
    KINDS
        .iter()
        .find(|(needle, _)| reason.contains(needle))
        .map_or("invalid rule", |(_, kind)| kind)
}

/// What loading rules did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LoadReport {
    /// Rule files read.
    pub files: usize,
    /// YAML documents seen (a file may hold several).
    pub documents: usize,
    /// Single-event rules loaded.
    pub loaded: usize,
    /// Correlation rules loaded.
    pub correlations: usize,
    /// Everything that was not loaded, in file order.
    pub rejections: Vec<Rejection>,
    /// Rejections counted by [`Rejection::category`].
    pub by_reason: BTreeMap<String, usize>,
}

impl LoadReport {
    fn reject(&mut self, file: &str, rule_id: Option<String>, reason: String) {
        let rejection = Rejection {
            file: file.to_owned(),
            rule_id,
            reason,
        };
        *self
            .by_reason
            .entry(rejection.category().to_owned())
            .or_default() += 1;
        self.rejections.push(rejection);
    }
}

/// Compiled Sigma rules, indexed by logsource. Evaluation takes `&self`, so one rule set
/// serves every worker thread.
#[derive(Debug, Clone, Default)]
pub struct RuleSet {
    pub(crate) rules: Vec<Rule>,
    pub(crate) correlations: Vec<CorrelationRule>,
    pub(crate) table: FieldTable,
    pub(crate) correlation_fields: correlation::Fields,
    index: RouteIndex,
}

impl RuleSet {
    /// Loads every rule under `path`: a directory (searched recursively for `.yml` and
    /// `.yaml` files, in sorted order), a `.tar.gz` / `.tgz` archive of rules, or one rule
    /// file. Rules that cannot be used are listed in the report with the reason; they never
    /// fail the load.
    ///
    /// # Errors
    ///
    /// [`DetectError::Read`] when `path` (or an archive) cannot be read at all.
    pub fn load(path: &Path) -> Result<(Self, LoadReport), DetectError> {
        let mut builder = Builder::default();
        load::read_path(path, &mut |file, bytes| builder.add_bytes(file, bytes))?;
        Ok(builder.finish())
    }

    /// Builds a rule set from rule texts in memory, named for the report.
    pub fn from_texts<'a>(
        texts: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> (Self, LoadReport) {
        let mut builder = Builder::default();
        for (name, text) in texts {
            builder.add_text(name, text);
        }
        builder.finish()
    }

    /// Builds a rule set from one YAML text (one rule, or a multi-document correlation with
    /// the rules it refers to).
    ///
    /// # Errors
    ///
    /// [`DetectError::Rule`] with the first rejection when any document cannot be used.
    pub fn from_yaml_str(name: &str, text: &str) -> Result<Self, DetectError> {
        let (set, report) = Self::from_texts([(name, text)]);
        match report.rejections.into_iter().next() {
            Some(rejection) => Err(DetectError::Rule {
                file: rejection.file,
                rule_id: rejection.rule_id,
                reason: rejection.reason,
            }),
            None => Ok(set),
        }
    }

    /// How many single-event rules there are.
    pub fn len(&self) -> usize {
        self.rules.len()
    }

    /// Whether there are no rules at all (single-event or correlation).
    pub fn is_empty(&self) -> bool {
        self.rules.is_empty() && self.correlations.is_empty()
    }

    /// How many correlation rules there are.
    pub fn correlation_count(&self) -> usize {
        self.correlations.len()
    }

    /// The single-event rules' metadata.
    pub fn rules(&self) -> impl Iterator<Item = &RuleInfo> {
        self.rules.iter().map(|rule| &rule.info)
    }

    /// The correlation rules' metadata.
    pub fn correlation_rules(&self) -> impl Iterator<Item = &RuleInfo> {
        self.correlations.iter().map(|rule| &rule.info)
    }

    /// Evaluates the single-event rules against one event: one alert per matching rule
    /// (rules that only feed a correlation raise none; see [`crate::Correlator`]).
    pub fn evaluate(&self, event: &Event) -> Vec<Alert> {
        self.evaluate_with(event, true)
    }

    fn evaluate_with(&self, event: &Event, prefilter: bool) -> Vec<Alert> {
        let mut view = EventView::new(event, &self.table);
        let mut candidates = Vec::new();
        self.index
            .candidates(event, &mut view, prefilter, &mut candidates);
        let mut alerts = Vec::new();
        for index in candidates {
            let Some(rule) = self.rules.get(index) else {
                continue;
            };
            if rule.generate && view.matches(&rule.detection) {
                alerts.push(alert::single(&rule.info, event));
            }
        }
        alerts
    }

    /// The ids of every single-event rule that matches the event, whether or not it raises
    /// alerts of its own.
    pub fn matching_rule_ids(&self, event: &Event) -> Vec<&str> {
        let mut view = EventView::new(event, &self.table);
        let mut candidates = Vec::new();
        self.index
            .candidates(event, &mut view, true, &mut candidates);
        candidates
            .into_iter()
            .filter_map(|index| self.rules.get(index))
            .filter(|rule| view.matches(&rule.detection))
            .map(|rule| rule.info.id.as_str())
            .collect()
    }

    /// The names of the event fields a rule's selections test, as the rule writes them.
    pub fn rule_fields(&self, rule_id: &str) -> Option<Vec<&str>> {
        let rule = self.rules.iter().find(|rule| rule.info.id == rule_id)?;
        Some(
            rule.detection
                .fields
                .iter()
                .filter_map(|&field| self.table.spec(field).map(|spec| spec.name.as_str()))
                .collect(),
        )
    }
}

/// Collects documents from many files, then compiles correlations once every rule they may
/// refer to is known.
#[derive(Default)]
struct Builder {
    set: RuleSet,
    report: LoadReport,
    pending: Vec<(String, Node)>,
    ids: HashMap<String, usize>,
}

impl Builder {
    fn add_bytes(&mut self, file: &str, bytes: Result<&[u8], String>) {
        let bytes = match bytes {
            Ok(bytes) => bytes,
            Err(reason) => {
                self.report.files += 1;
                self.report.reject(file, None, reason);
                return;
            }
        };
        if let Ok(text) = std::str::from_utf8(bytes) {
            self.add_text(file, text);
        } else {
            self.report.files += 1;
            self.report
                .reject(file, None, "the file is not utf-8 text".to_owned());
        }
    }

    fn add_text(&mut self, file: &str, text: &str) {
        self.report.files += 1;
        let documents = match yaml::parse_documents(text) {
            Ok(documents) => documents,
            Err(error) => {
                self.report
                    .reject(file, None, format!("invalid yaml: {}", error.0));
                return;
            }
        };
        for doc in documents {
            if doc.is_null() {
                continue;
            }
            self.report.documents += 1;
            self.add_document(file, doc);
        }
    }

    fn add_document(&mut self, file: &str, doc: Node) {
        let id = doc.get("id").and_then(Node::as_str).map(str::to_owned);
        if !matches!(doc, Node::Map(_)) {
            self.report.reject(
                file,
                id,
                format!("the document is {}, expected a map", doc.kind()),
            );
            return;
        }
        if doc.get("correlation").is_some() {
            self.pending.push((file.to_owned(), doc));
            return;
        }
        if doc.get("action").is_some() {
            self.report.reject(
                file,
                id,
                "rule collections (`action: global`/`repeat`) are not supported".to_owned(),
            );
            return;
        }
        let info = match rule::info(&doc, file) {
            Ok(info) => info,
            Err(reason) => {
                self.report.reject(file, id, reason);
                return;
            }
        };
        if self.ids.contains_key(&info.id) {
            let reason = format!("duplicate rule id `{}`", info.id);
            self.report.reject(file, Some(info.id), reason);
            return;
        }
        let rule_id = info.id.clone();
        match rule::compile(&doc, info, &mut self.set.table) {
            Ok(rule) => {
                let index = self.set.rules.len();
                self.ids.insert(rule_id, index);
                self.set.rules.push(rule);
            }
            Err(reason) => self.report.reject(file, Some(rule_id), reason),
        }
    }

    fn finish(mut self) -> (RuleSet, LoadReport) {
        let pending = std::mem::take(&mut self.pending);
        let outcome = correlation::compile_all(&pending, &mut self.set);
        for (file, id, reason) in outcome.rejected {
            self.report.reject(&file, id, reason);
        }
        for (index, rule) in self.set.rules.iter().enumerate() {
            for route in &rule.routes {
                self.set.index.add(route, index);
            }
        }
        let requirements: Vec<_> = self
            .set
            .rules
            .iter()
            .map(|rule| prefilter::required(&rule.detection))
            .collect();
        self.set.index.seal(&requirements);
        self.report.loaded = self.set.rules.len();
        self.report.correlations = self.set.correlations.len();
        (self.set, self.report)
    }
}

#[cfg(test)]
mod tests {
    use rampart_core::{AlertSource, EntityKind, Level};

    use super::*;
    use crate::testkit::{sysmon_process, windows_event};

    fn rule(detection: &str) -> RuleSet {
        rule_with(
            "product: windows\n    category: process_creation",
            detection,
        )
    }

    fn rule_with(logsource: &str, detection: &str) -> RuleSet {
        let text = format!(
            "title: test rule\nid: test-1\ntags: [attack.execution, attack.t1059.001, attack.defense_evasion]\nlevel: high\nlogsource:\n    {logsource}\ndetection:\n{detection}\n"
        );
        RuleSet::from_yaml_str("test.yml", &text).unwrap_or_else(|e| panic!("{e}\n{text}"))
    }

    fn fires(rules: &RuleSet, event: &Event) -> bool {
        !rules.evaluate(event).is_empty()
    }

    #[test]
    fn modifiers_match_like_sigma() {
        let rules = rule(
            "    selection:
        Image|endswith: '\\cmd.exe'
        CommandLine|contains|all: ['/c', 'whoami']
        ParentImage|startswith: 'C:\\Windows\\'
    condition: selection",
        );
        let hit = sysmon_process(&[
            ("Image", "C:\\Windows\\System32\\CMD.EXE"),
            ("CommandLine", "cmd.exe /C WHOAMI /all"),
            ("ParentImage", "c:\\windows\\explorer.exe"),
        ]);
        assert!(fires(&rules, &hit));
        let partial = sysmon_process(&[
            ("Image", "C:\\Windows\\System32\\cmd.exe"),
            ("CommandLine", "cmd.exe /c dir"),
            ("ParentImage", "C:\\Windows\\explorer.exe"),
        ]);
        assert!(!fires(&rules, &partial), "contains|all needs every value");
    }

    #[test]
    fn cased_regex_and_flags() {
        let cased =
            rule("    selection:\n        CommandLine|cased: 'Secret'\n    condition: selection");
        assert!(fires(&cased, &sysmon_process(&[("CommandLine", "Secret")])));
        assert!(!fires(
            &cased,
            &sysmon_process(&[("CommandLine", "secret")])
        ));
        let re = rule("    selection:\n        CommandLine|re: '^a.c$'\n    condition: selection");
        assert!(fires(&re, &sysmon_process(&[("CommandLine", "abc")])));
        assert!(
            !fires(&re, &sysmon_process(&[("CommandLine", "ABC")])),
            "re is case-sensitive"
        );
        let re_i =
            rule("    selection:\n        CommandLine|re|i: '^a.c$'\n    condition: selection");
        assert!(fires(&re_i, &sysmon_process(&[("CommandLine", "ABC")])));
        let re_s =
            rule("    selection:\n        CommandLine|re|s: '^a.c$'\n    condition: selection");
        assert!(fires(&re_s, &sysmon_process(&[("CommandLine", "a\nc")])));
        assert!(!fires(&re_i, &sysmon_process(&[("CommandLine", "a\nc")])));
    }

    #[test]
    fn null_exists_numbers_cidr_fieldref() {
        let null = rule("    selection:\n        OriginalFileName: null\n    condition: selection");
        assert!(fires(&null, &sysmon_process(&[("Image", "x")])));
        assert!(fires(&null, &sysmon_process(&[("OriginalFileName", "")])));
        assert!(!fires(
            &null,
            &sysmon_process(&[("OriginalFileName", "a.exe")])
        ));
        let exists =
            rule("    selection:\n        OriginalFileName|exists: true\n    condition: selection");
        assert!(fires(&exists, &sysmon_process(&[("OriginalFileName", "")])));
        assert!(!fires(&exists, &sysmon_process(&[("Image", "x")])));
        let gt = rule("    selection:\n        TerminalSessionId|gte: 2\n    condition: selection");
        assert!(fires(&gt, &sysmon_process(&[("TerminalSessionId", "2")])));
        assert!(!fires(&gt, &sysmon_process(&[("TerminalSessionId", "1")])));
        assert!(!fires(&gt, &sysmon_process(&[("TerminalSessionId", "x")])));
        let number = rule("    selection:\n        TerminalSessionId: 1\n    condition: selection");
        assert!(fires(
            &number,
            &sysmon_process(&[("TerminalSessionId", "1")])
        ));
        let net = rule_with(
            "product: windows\n    category: network_connection",
            "    selection:\n        DestinationIp|cidr: ['10.0.0.0/8', 'fe80::/10']\n    condition: selection",
        );
        let connection = |ip: &str| {
            windows_event(
                "Microsoft-Windows-Sysmon/Operational",
                3,
                &[("DestinationIp", ip)],
                None,
            )
        };
        assert!(fires(&net, &connection("10.1.2.3")));
        assert!(fires(&net, &connection("fe80::1")));
        assert!(!fires(&net, &connection("192.168.1.1")));
        assert!(!fires(&net, &connection("not an ip")));
        let fieldref =
            rule("    selection:\n        ParentImage|fieldref: Image\n    condition: selection");
        assert!(fires(
            &fieldref,
            &sysmon_process(&[("Image", "A.exe"), ("ParentImage", "a.exe")])
        ));
        assert!(!fires(
            &fieldref,
            &sysmon_process(&[("Image", "a.exe"), ("ParentImage", "b.exe")])
        ));
    }

    #[test]
    fn conditions_lists_and_keywords() {
        let rules = rule(
            "    selection_a:\n        Image|endswith: '\\a.exe'\n    selection_b:\n        - Image|endswith: '\\b.exe'\n        - CommandLine|contains: 'magic'\n    filter:\n        User|contains: 'SYSTEM'\n    condition: 1 of selection_* and not filter",
        );
        assert!(fires(&rules, &sysmon_process(&[("Image", "c:\\a.exe")])));
        assert!(fires(
            &rules,
            &sysmon_process(&[("CommandLine", "x magic y")])
        ));
        assert!(!fires(
            &rules,
            &sysmon_process(&[("Image", "c:\\a.exe"), ("User", "NT AUTHORITY\\SYSTEM")])
        ));
        let all = rule(
            "    sel_a:\n        Image: 'a'\n    sel_b:\n        CommandLine: 'b'\n    condition: all of them",
        );
        assert!(fires(
            &all,
            &sysmon_process(&[("Image", "A"), ("CommandLine", "B")])
        ));
        assert!(!fires(&all, &sysmon_process(&[("Image", "A")])));
        let keywords = rule_with(
            "product: windows\n    service: system",
            "    keywords:\n        - 'mimikatz'\n        - 'sekurlsa'\n    condition: keywords",
        );
        let system = |text: &str| windows_event("System", 7045, &[("ImagePath", text)], None);
        assert!(fires(&keywords, &system("C:\\tmp\\MimiKatz.exe")));
        assert!(!fires(&keywords, &system("C:\\tmp\\calc.exe")));
        let keywords_all = rule_with(
            "product: windows\n    service: system",
            "    keywords:\n        '|all': ['alpha', 'beta']\n    condition: keywords",
        );
        assert!(fires(&keywords_all, &system("alpha and beta")));
        assert!(!fires(&keywords_all, &system("alpha only")));
    }

    #[test]
    fn wildcards_escapes_windash_and_base64offset() {
        let rules = rule(
            "    selection:\n        CommandLine|windash|contains: ' -nop '\n    condition: selection",
        );
        assert!(fires(
            &rules,
            &sysmon_process(&[("CommandLine", "powershell /nop -c x")])
        ));
        assert!(fires(
            &rules,
            &sysmon_process(&[("CommandLine", "powershell \u{2014}nop -c x")])
        ));
        let escaped =
            rule("    selection:\n        CommandLine: 'a\\*b'\n    condition: selection");
        assert!(fires(&escaped, &sysmon_process(&[("CommandLine", "a*b")])));
        assert!(!fires(&escaped, &sysmon_process(&[("CommandLine", "aXb")])));
        let question =
            rule("    selection:\n        CommandLine: 'a?c*'\n    condition: selection");
        assert!(fires(
            &question,
            &sysmon_process(&[("CommandLine", "abcdef")])
        ));
        assert!(!fires(
            &question,
            &sysmon_process(&[("CommandLine", "acdef")])
        ));
        let encoded = rule(
            "    selection:\n        CommandLine|base64offset|contains: 'IEX ('\n    condition: selection",
        );
        // "xIEX (New-Object" base64-encoded: the needle sits at offset 1.
        assert!(fires(
            &encoded,
            &sysmon_process(&[("CommandLine", "powershell -enc eElFWCAoTmV3LU9iamVjdA==")])
        ));
        let wide = rule(
            "    selection:\n        CommandLine|wide|base64offset|contains: 'ping'\n    condition: selection",
        );
        // UTF-16LE "ping" base64: cABpAG4AZwA=
        assert!(fires(
            &wide,
            &sysmon_process(&[("CommandLine", "-e cABpAG4AZwA=")])
        ));
    }

    #[test]
    fn logsource_routes_events_and_security_4688_uses_ecs_fallback() {
        let rules = rule(
            "    selection:\n        Image|endswith: '\\whoami.exe'\n    condition: selection",
        );
        let data = [("Image", "C:\\Windows\\whoami.exe")];
        assert!(fires(&rules, &sysmon_process(&data)));
        let network = windows_event("Microsoft-Windows-Sysmon/Operational", 3, &data, None);
        assert!(
            !fires(&rules, &network),
            "process rules never see network events"
        );
        let mut security = windows_event(
            "Security",
            4688,
            &[("NewProcessName", "C:\\Windows\\whoami.exe")],
            None,
        );
        assert!(!fires(&rules, &security));
        security.ecs.process.executable = Some("C:\\Windows\\whoami.exe".to_owned());
        assert!(
            fires(&rules, &security),
            "Image falls back to process.executable"
        );
        let elevated =
            rule("    selection:\n        IntegrityLevel: 'High'\n    condition: selection");
        let label = |sid: &str| windows_event("Security", 4688, &[("MandatoryLabel", sid)], None);
        assert!(fires(&elevated, &label("S-1-16-12288")));
        assert!(!fires(&elevated, &label("S-1-16-8192")));
        assert!(fires(
            &elevated,
            &sysmon_process(&[("IntegrityLevel", "High")])
        ));
        let other = windows_event("Security", 4624, &data, None);
        assert!(!fires(&rules, &other));
    }

    #[test]
    fn alerts_carry_rule_metadata_entities_and_stable_ids() {
        let rules = rule(
            "    selection:\n        Image|endswith: '\\whoami.exe'\n    condition: selection",
        );
        let mut event = sysmon_process(&[("Image", "C:\\Windows\\whoami.exe")]);
        event.ecs.host.name = Some("WS1.example.org".to_owned());
        event.ecs.user.name = Some("Alice".to_owned());
        event.ecs.user.domain = Some("EXAMPLE".to_owned());
        event.ecs.process.pid = Some(42);
        event.ecs.process.name = Some("whoami.exe".to_owned());
        let alerts = rules.evaluate(&event);
        assert_eq!(alerts.len(), 1);
        let alert = &alerts[0];
        assert_eq!(alert.source, AlertSource::Sigma);
        assert_eq!(alert.rule_id, "test-1");
        assert_eq!(alert.level, Level::High);
        assert_eq!(alert.techniques, ["T1059.001"]);
        assert_eq!(alert.tactics, ["execution", "defense-evasion"]);
        assert_eq!(alert.event_ids, [event.id]);
        let kinds: Vec<EntityKind> = alert.entities.iter().map(|e| e.kind).collect();
        assert_eq!(
            kinds,
            [EntityKind::Host, EntityKind::User, EntityKind::Process]
        );
        assert_eq!(alert.entities[1].value, "example\\alice");
        assert_eq!(
            rules.evaluate(&event),
            alerts,
            "re-detection gives the same alert id"
        );
    }

    #[test]
    fn linux_process_creation_reads_ecs_events() {
        let rules = rule_with(
            "product: linux\n    category: process_creation",
            "    selection:\n        Image|endswith: '/whoami'\n        CommandLine|contains: 'whoami'\n    condition: selection",
        );
        let mut event = sysmon_process(&[]);
        event.attributes.clear();
        event.ecs.event.category = vec!["process".to_owned()];
        event.ecs.event.kind_type = vec!["start".to_owned()];
        event.ecs.process.executable = Some("/usr/bin/whoami".to_owned());
        event.ecs.process.command_line = Some("whoami".to_owned());
        assert!(fires(&rules, &event));
        event.ecs.event.kind_type = vec!["end".to_owned()];
        assert!(!fires(&rules, &event), "only process starts");
    }

    #[test]
    fn rule_sets_are_shared_across_threads() {
        fn shareable<T: Send + Sync>() {}
        fn sendable<T: Send>() {}
        shareable::<RuleSet>();
        sendable::<crate::Correlator>();
    }

    #[test]
    fn rejections_name_the_item() {
        let cases = [
            (
                "    selection:\n        Image|foo: x\n    condition: selection",
                "unsupported modifier `foo`",
            ),
            (
                "    selection:\n        Image|re: '(?=x)'\n    condition: selection",
                "unsupported regex",
            ),
            (
                "    selection:\n        Image|expand: '%x%'\n    condition: selection",
                "expand",
            ),
            (
                "    selection:\n        Image: x\n    condition: selection | count() > 5",
                "aggregation",
            ),
            (
                "    selection:\n        Image: x\n    condition: other",
                "unknown selection `other`",
            ),
            ("    selection:\n        Image: x", "no `condition`"),
            (
                "    selection:\n        Image|cidr: 'x/99'\n    condition: selection",
                "CIDR",
            ),
        ];
        for (detection, expected) in cases {
            let text = format!(
                "title: t\nid: r\nlogsource:\n    product: windows\n    category: process_creation\ndetection:\n{detection}\n"
            );
            let error = RuleSet::from_yaml_str("bad.yml", &text)
                .unwrap_err()
                .to_string();
            assert!(
                error.contains(expected),
                "{error} should mention {expected}"
            );
            assert!(error.contains("bad.yml"), "{error}");
        }
        let (set, report) = RuleSet::from_texts([
            (
                "a.yml",
                "title: a\nid: same\nlogsource: {product: windows, category: process_creation}\ndetection: {s: {Image: x}, condition: s}\n",
            ),
            (
                "b.yml",
                "title: b\nid: same\nlogsource: {product: windows, category: process_creation}\ndetection: {s: {Image: y}, condition: s}\n",
            ),
            (
                "c.yml",
                "title: c\nlogsource: {product: aws, service: cloudtrail}\ndetection: {s: {eventName: x}, condition: s}\n",
            ),
            ("d.yml", "key: [unclosed"),
        ]);
        assert_eq!(set.len(), 1);
        assert_eq!(report.by_reason.get("duplicate rule id"), Some(&1));
        assert_eq!(report.by_reason.get("unsupported logsource"), Some(&1));
        assert_eq!(report.by_reason.get("invalid yaml"), Some(&1));
    }

    /// The prefilter is only a shortcut: over the `SigmaHQ` rules and real events it must give
    /// exactly the alerts of evaluating every routed rule.
    #[test]
    fn prefilter_never_changes_results() {
        let shared = std::env::var_os("RAMPART_SHARED_DATA").map_or_else(
            || Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../../shared/data"),
            std::path::PathBuf::from,
        );
        let archive = shared.join("sigma-rules/sigmahq_rules_all.tar.gz");
        if !archive.is_file() {
            eprintln!("SKIPPED: shared data not found; set RAMPART_SHARED_DATA");
            return;
        }
        let (rules, _) = RuleSet::load(&archive).unwrap();
        let inputs = [
            shared.join("sigma-rules/regression_cases"),
            shared.join("splunk-attack-data-sample"),
        ];
        let items =
            rampart_ingest::read_all(&inputs, &rampart_ingest::ReadOptions::default()).unwrap();
        let (mut events, mut alerts) = (0, 0);
        for item in items {
            if let rampart_core::Ingested::Event(event) = item {
                let fast = rules.evaluate(&event);
                assert_eq!(fast, rules.evaluate_with(&event, false), "{}", event.raw);
                events += 1;
                alerts += fast.len();
            }
        }
        assert!(
            events > 20_000 && alerts > 1_000,
            "{events} events, {alerts} alerts"
        );
    }

    #[test]
    fn categories() {
        assert_eq!(
            category("unsupported logsource `aws/-/cloudtrail`"),
            "unsupported logsource"
        );
        assert_eq!(
            category("selection `a`: field `b`: unsupported regex `(?=x)`: look-around"),
            "unsupported regex"
        );
        assert_eq!(category("missing `title`"), "invalid rule");
    }
}
