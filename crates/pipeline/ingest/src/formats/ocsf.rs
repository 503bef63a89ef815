//! Reader for the `ocsf` format (placeholder until its reader lands: every input is unreadable).

use rampart_core::Format;

use super::{Delivery, Input, Limits};

/// Reads one input; see the module docs of `formats` for the contract.
pub(crate) fn read(input: &mut Input<'_>, _limits: &Limits, deliver: &mut dyn FnMut(Delivery)) {
    deliver(Delivery::unreadable(
        &input.source,
        Some(Format::Ocsf),
        "unsupported format: the reader for this format is not available yet",
        &[],
    ));
}
