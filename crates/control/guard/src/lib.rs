//! Guardrails for Rampart's LLM use: prompt-injection detection, PII minimisation, output grounding.
