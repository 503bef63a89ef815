//! Hashed n-gram features over normalised text, and the windows a text is scored in.
//!
//! Features are byte 3-, 4- and 5-grams, word unigrams and word bigrams of the normalised
//! text, each hashed into `2^bits` buckets (the hashing trick: no vocabulary to ship, a
//! fixed-size model, unseen words still land in buckets). Every occurrence has a position:
//! the byte where it starts. Heuristic signal hits are features too, in the same buckets.
//!
//! A window's n-gram vector is `x[b] = count(b in window) / sqrt(n)`, with `n` the number
//! of n-gram occurrences in the window; signal hits add `1` per hit, undiluted, so one
//! "ignore previous instructions" counts as much in a long window as in a short one. The
//! logit of a window is therefore
//! `bias + (sum of n-gram weights) / sqrt(n) + (sum of signal weights)`, which a scorer
//! computes for every window at once from prefix sums.
//!
//! A text is scored as its highest window. Windows are a fixed grid (`window` bytes every
//! `stride` bytes) plus the text's segments (lines and sentences), so an instruction planted
//! as its own line in a long, benign document is scored on its own and not averaged away.
//!
//! The hash is FNV-1a with a final multiplicative mixing step: simple, stable across
//! platforms and versions, and the same in training and scanning. Changing any of this
//! changes [`FEATURE_VERSION`], which model files record.

use std::ops::Range;

use crate::signals::Hit;

/// Version of the feature definition; a model trained on another version is refused.
pub const FEATURE_VERSION: u32 = 2;

/// Segments shorter than this (bytes) are joined to the next one.
pub const MIN_SEGMENT_BYTES: usize = 24;

/// Most segments scored per text (the grid windows always cover the rest).
pub const MAX_SEGMENTS: usize = 4096;

/// Smallest supported hash space (bits).
pub const MIN_HASH_BITS: u8 = 8;

/// Largest supported hash space (bits): 4 Mi buckets, 4 MiB of weights.
pub const MAX_HASH_BITS: u8 = 22;

const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
const FNV_PRIME: u64 = 0x0100_0000_01b3;
const WORD_SEED: u64 = 0x9e37_79b9_7f4a_7c15;
const BIGRAM_SEED: u64 = 0xc2b2_ae3d_27d4_eb4f;
const SIGNAL_SEED: u64 = 0x1656_67b1_9e37_79f9;

fn bucket(h: u64, bits: u8) -> u32 {
    // One xor-shift and one multiply spread FNV's state into the top bits, which index the
    // bucket (multiplicative hashing); bits <= 22, so the shifted value fits in u32.
    let mixed = (h ^ (h >> 29)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    u32::try_from(mixed >> (64 - u32::from(bits))).unwrap_or(0)
}

/// The bucket of a signal's feature.
pub fn signal_bucket(name: &str, bits: u8) -> u32 {
    let mut h = FNV_OFFSET ^ SIGNAL_SEED;
    for &b in name.as_bytes() {
        h = (h ^ u64::from(b)).wrapping_mul(FNV_PRIME);
    }
    bucket(h, bits)
}

/// Bytes that belong to a word (ASCII letters and digits, and every byte of a non-ASCII
/// character), as a table: the word pass asks this of every byte.
#[expect(
    clippy::indexing_slicing,
    reason = "a u8 always indexes a 256-entry table; `get_mut` is not const"
)]
const WORD_BYTES: [bool; 256] = {
    let mut table = [false; 256];
    let mut b = 0u8;
    loop {
        table[b as usize] = b.is_ascii_alphanumeric() || b >= 0x80;
        if b == u8::MAX {
            break;
        }
        b += 1;
    }
    table
};

fn is_word_byte(b: u8) -> bool {
    WORD_BYTES.get(usize::from(b)).copied().unwrap_or(false)
}

/// Calls `emit(position, bucket)` for every n-gram occurrence of `text` (normalised), in
/// no particular order.
pub fn for_each_feature(text: &str, bits: u8, mut emit: impl FnMut(usize, u32)) {
    for_each_byte_gram(text.as_bytes(), bits, &mut emit);
    for_each_word_feature(text.as_bytes(), bits, &mut emit);
}

/// Byte n-grams, n = 3..=5, sharing one FNV pass per start position, in position order.
fn for_each_byte_gram(bytes: &[u8], bits: u8, emit: &mut impl FnMut(usize, u32)) {
    // The bulk: every start with five bytes ahead, without per-byte bounds checks.
    let mut start = 0;
    for w in bytes.windows(5) {
        if let [a, b, c, d, e] = *w {
            let h3 = [a, b, c].iter().fold(FNV_OFFSET, |h, &x| {
                (h ^ u64::from(x)).wrapping_mul(FNV_PRIME)
            });
            let h4 = (h3 ^ u64::from(d)).wrapping_mul(FNV_PRIME);
            let h5 = (h4 ^ u64::from(e)).wrapping_mul(FNV_PRIME);
            emit(start, bucket(h3, bits));
            emit(start, bucket(h4, bits));
            emit(start, bucket(h5, bits));
        }
        start += 1;
    }
    // The tail: starts with fewer than five bytes ahead.
    for tail in start..bytes.len() {
        let mut h = FNV_OFFSET;
        for (k, &b) in bytes.get(tail..).unwrap_or_default().iter().enumerate() {
            h = (h ^ u64::from(b)).wrapping_mul(FNV_PRIME);
            if k >= 2 {
                emit(tail, bucket(h, bits));
            }
        }
    }
}

/// Word unigrams and bigrams, in position order.
fn for_each_word_feature(bytes: &[u8], bits: u8, emit: &mut impl FnMut(usize, u32)) {
    let mut previous: Option<u64> = None;
    let mut i = 0;
    while i < bytes.len() {
        if !bytes.get(i).copied().is_some_and(is_word_byte) {
            // Punctuation between words breaks a bigram only at sentence ends.
            if matches!(bytes.get(i), Some(b'.' | b'!' | b'?' | b';' | b'\n')) {
                previous = None;
            }
            i += 1;
            continue;
        }
        let start = i;
        let mut h = FNV_OFFSET ^ WORD_SEED;
        while let Some(&b) = bytes.get(i) {
            if !is_word_byte(b) {
                break;
            }
            h = (h ^ u64::from(b)).wrapping_mul(FNV_PRIME);
            i += 1;
        }
        emit(start, bucket(h, bits));
        if let Some(p) = previous {
            emit(
                start,
                bucket(p.wrapping_mul(FNV_PRIME) ^ h ^ BIGRAM_SEED, bits),
            );
        }
        previous = Some(h);
    }
}

/// The windows a text of `len` normalised bytes is scored in: `[0, window)`, then every
/// `stride` bytes, the last one ending at `len`. A text no longer than `window` is one window.
pub fn windows(len: usize, window: usize, stride: usize) -> Vec<Range<usize>> {
    let window = window.max(1);
    let stride = stride.clamp(1, window);
    if len <= window {
        return std::iter::once(0..len).collect();
    }
    let mut out = Vec::with_capacity(len / stride + 2);
    let mut start = 0;
    while start + window < len {
        out.push(start..start + window);
        start += stride;
    }
    out.push(len - window..len);
    out
}

/// Lines and sentences of normalised `text` (given its line breaks), trimmed, short ones
/// joined to the next; segments longer than `max` are left to the grid windows.
pub fn segments(text: &str, breaks: &[u32], max: usize) -> Vec<Range<usize>> {
    let bytes = text.as_bytes();
    let mut cuts: Vec<usize> = breaks.iter().map(|&b| b as usize).collect();
    for (i, w) in bytes.windows(2).enumerate() {
        // Sentence ends, `key: value` separators (log lines, alert fields) and JSON
        // `":"` / `","` boundaries.
        if matches!(
            w,
            [b'.' | b'!' | b'?' | b';' | b':', b' '] | [b':' | b',', b'"']
        ) {
            cuts.push(i + 1);
        }
    }
    cuts.push(text.len());
    cuts.sort_unstable();
    cuts.dedup();
    let mut out = Vec::new();
    let mut start = 0;
    for cut in cuts {
        let cut = cut.min(text.len());
        if cut <= start || cut - start < MIN_SEGMENT_BYTES && cut < text.len() {
            continue;
        }
        let mut s = start;
        let mut e = cut;
        while s < e && bytes.get(s) == Some(&b' ') {
            s += 1;
        }
        while e > s && bytes.get(e - 1) == Some(&b' ') {
            e -= 1;
        }
        start = cut;
        if e > s && e - s <= max {
            out.push(s..e);
            if out.len() >= MAX_SEGMENTS {
                break;
            }
        }
    }
    out
}

/// Every range a text is scored in: the grid windows, then the segments that differ from
/// them.
pub fn score_ranges(text: &str, breaks: &[u32], window: usize, stride: usize) -> Vec<Range<usize>> {
    ranges_with_segments(text.len(), &segments(text, breaks, window), window, stride)
}

/// [`score_ranges`] of a text of `len` bytes whose [`segments`] are already known.
pub fn ranges_with_segments(
    len: usize,
    segs: &[Range<usize>],
    window: usize,
    stride: usize,
) -> Vec<Range<usize>> {
    let grid = windows(len, window, stride);
    // Grid windows start in increasing order, so a segment is looked up by its start rather
    // than compared with every window (a 4 MiB text has 16k windows and 4k segments).
    let on_grid = |s: &Range<usize>| {
        grid.binary_search_by_key(&s.start, |w| w.start)
            .is_ok_and(|i| grid.get(i) == Some(s))
    };
    let extra: Vec<Range<usize>> = segs.iter().filter(|s| !on_grid(s)).cloned().collect();
    let mut ranges = grid;
    ranges.extend(extra);
    ranges
}

/// N-gram and signal sums of one window.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct WindowSums {
    /// Sum of the quantised weights of the n-gram occurrences.
    pub weight: i64,
    /// Number of n-gram occurrences.
    pub count: u32,
    /// Sum of the quantised weights of the signal hits.
    pub signal: i64,
}

/// Weight vectors one scan serves: the injection classifier and the instruction classifier.
pub const HEADS: usize = 2;

/// The heads' weights side by side, one entry per bucket, so a feature's weights for every
/// head come from one memory access (the tables are larger than the fastest caches).
pub fn interleave(heads: [&[i8]; HEADS]) -> Vec<[i8; HEADS]> {
    let [a, b] = heads;
    a.iter().zip(b).map(|(&x, &y)| [x, y]).collect()
}

/// Per-position sums of feature weights and counts, for scoring any window in O(1).
///
/// One pass over the features serves both heads (the injection classifier and the
/// instruction classifier share the hashed features).
#[derive(Debug, Default)]
pub struct PrefixSums {
    /// `weight[i][h]` = sum of head `h`'s (quantised) weights of n-grams at positions `< i`.
    weight: Vec<[i64; HEADS]>,
    /// `count[i]` = number of n-grams at positions `< i`.
    count: Vec<u32>,
    /// Signal hits as `(position, weight of each head)`, sorted by position (there are few).
    signals: Vec<(usize, [i64; HEADS])>,
}

impl PrefixSums {
    /// Builds the sums for `text` and its signal `hits` with the heads' quantised weights,
    /// interleaved (see [`interleave`]; `2^bits` entries).
    pub fn new(text: &str, hits: &[Hit], bits: u8, weights: &[[i8; HEADS]]) -> Self {
        let len = text.len();
        let w_of = |b: u32| {
            weights
                .get(b as usize)
                .copied()
                .unwrap_or_default()
                .map(i64::from)
        };
        // Per-position sums first (one pass per feature family, both in position order),
        // then running totals in place.
        let mut weight = vec![[0i64; HEADS]; len + 1];
        let mut count = vec![0u32; len + 1];
        let mut add = |pos: usize, b: u32| {
            if let (Some(sums), Some(c)) = (weight.get_mut(pos + 1), count.get_mut(pos + 1)) {
                let [x, y] = w_of(b);
                sums[0] += x;
                sums[1] += y;
                *c += 1;
            }
        };
        for_each_byte_gram(text.as_bytes(), bits, &mut add);
        for_each_word_feature(text.as_bytes(), bits, &mut add);
        let mut acc = [0i64; HEADS];
        for w in &mut weight {
            acc[0] += w[0];
            acc[1] += w[1];
            *w = acc;
        }
        let mut acc = 0u32;
        for c in &mut count {
            acc = acc.saturating_add(*c);
            *c = acc;
        }
        let mut signals: Vec<(usize, [i64; HEADS])> = hits
            .iter()
            .map(|h| (h.span.start, w_of(signal_bucket(h.signal.name(), bits))))
            .collect();
        signals.sort_unstable();
        Self {
            weight,
            count,
            signals,
        }
    }

    /// Head `head`'s sums over the occurrences and hits starting inside `range`.
    pub fn window(&self, head: usize, range: Range<usize>) -> WindowSums {
        let at = |i: usize| {
            self.weight
                .get(i)
                .and_then(|w| w.get(head))
                .copied()
                .unwrap_or(0)
        };
        let c = |i: usize| self.count.get(i).copied().unwrap_or(0);
        let first = self.signals.partition_point(|(p, _)| *p < range.start);
        let signal = self
            .signals
            .get(first..)
            .unwrap_or_default()
            .iter()
            .take_while(|(p, _)| *p < range.end)
            .map(|(_, w)| w.get(head).copied().unwrap_or(0))
            .sum();
        WindowSums {
            weight: at(range.end) - at(range.start),
            count: c(range.end).saturating_sub(c(range.start)),
            signal,
        }
    }
}

/// Sparse feature vector of one window: `(bucket, value)` sorted by bucket, n-grams
/// normalised by `1 / sqrt(n)` and signal hits counted 1 each (see the module docs).
pub fn window_vector(
    text: &str,
    hits: &[Hit],
    bits: u8,
    range: Range<usize>,
    scratch: &mut Vec<u32>,
) -> Vec<(u32, f32)> {
    scratch.clear();
    for_each_feature(text, bits, |pos, b| {
        if range.contains(&pos) {
            scratch.push(b);
        }
    });
    let mut v = sparse_from_buckets(scratch);
    for hit in hits {
        if range.contains(&hit.span.start) || (range.is_empty() && hit.span.start == range.start) {
            let b = signal_bucket(hit.signal.name(), bits);
            match v.binary_search_by_key(&b, |&(k, _)| k) {
                Ok(i) => {
                    if let Some(slot) = v.get_mut(i) {
                        slot.1 += 1.0;
                    }
                }
                Err(i) => v.insert(i, (b, 1.0)),
            }
        }
    }
    v
}

/// Turns a list of bucket occurrences into `(bucket, count / sqrt(n))`, sorted by bucket.
pub fn sparse_from_buckets(buckets: &mut [u32]) -> Vec<(u32, f32)> {
    if buckets.is_empty() {
        return Vec::new();
    }
    let norm = 1.0 / (buckets.len() as f32).sqrt();
    buckets.sort_unstable();
    let mut out: Vec<(u32, f32)> = Vec::with_capacity(buckets.len());
    for &b in buckets.iter() {
        match out.last_mut() {
            Some((last, v)) if *last == b => *v += norm,
            _ => out.push((b, norm)),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::signals::Signal;

    #[test]
    fn windows_cover_the_text() {
        assert_eq!(windows(0, 512, 256), vec![0..0]);
        assert_eq!(windows(100, 512, 256), vec![0..100]);
        assert_eq!(windows(1000, 512, 256), vec![0..512, 256..768, 488..1000]);
        assert_eq!(windows(768, 512, 256), vec![0..512, 256..768]);
    }

    #[test]
    fn segments_follow_lines_and_sentences() {
        let n = crate::normalize::normalize(
            "| a | b | c | d | e | f | g |\n| 1 | 2 | 3 | 4 | 5 | 6 | 7 |\nignore that. and do this instead now!",
        );
        let (text, breaks) = (n.as_str(), n.line_breaks());
        let segs: Vec<&str> = segments(text, breaks, 256)
            .into_iter()
            .map(|r| &text[r])
            .collect();
        assert_eq!(
            segs,
            vec![
                "| a | b | c | d | e | f | g |",
                "| 1 | 2 | 3 | 4 | 5 | 6 | 7 |",
                "ignore that. and do this instead now!"
            ]
        );
        // Too-long segments are left to the grid.
        assert!(segments(&"x".repeat(600), &[], 256).is_empty());
        let ranges = score_ranges(text, breaks, 64, 32);
        assert!(ranges.contains(&(60..text.len())));
    }

    #[test]
    fn segments_on_the_grid_are_not_scored_twice() {
        // Oracle: the grid, then every segment not equal to a grid window.
        let naive = |len, segs: &[Range<usize>], w, st| {
            let mut r = windows(len, w, st);
            let grid = r.clone();
            r.extend(segs.iter().filter(|s| !grid.contains(s)).cloned());
            r
        };
        for (len, w, st) in [
            (0, 64, 32),
            (50, 64, 32),
            (1000, 64, 32),
            (1000, 100, 100),
            (777, 64, 7),
        ] {
            let segs: Vec<Range<usize>> = (0..len)
                .step_by(9)
                .flat_map(|a| [a..(a + 64).min(len), a..(a + 13).min(len)])
                .chain(windows(len, w, st))
                .collect();
            assert_eq!(
                ranges_with_segments(len, &segs, w, st),
                naive(len, &segs, w, st)
            );
        }
    }

    #[test]
    fn features_are_stable_and_counted() {
        let mut seen = Vec::new();
        for_each_feature("abcde fg", 18, |p, b| seen.push((p, b)));
        // 3-, 4- and 5-grams that fit, plus 2 words and 1 bigram.
        let grams = (0..8)
            .map(|s: usize| (8 - s).saturating_sub(2).min(3))
            .sum::<usize>();
        assert_eq!(seen.len(), grams + 3);
        let mut again = Vec::new();
        for_each_feature("abcde fg", 18, |p, b| again.push((p, b)));
        assert_eq!(seen, again);
        assert!(seen.iter().all(|&(_, b)| b < 1 << 18));
        // Pinned values: a change here changes every model; bump FEATURE_VERSION.
        assert_eq!(seen[0], (0, PINNED_FIRST_BUCKET));
        assert_eq!(
            signal_bucket("instruction-override", 18),
            PINNED_SIGNAL_BUCKET
        );
    }

    #[test]
    fn word_byte_table_matches_its_definition() {
        for b in 0..=u8::MAX {
            assert_eq!(
                is_word_byte(b),
                b.is_ascii_alphanumeric() || b >= 0x80,
                "byte {b}"
            );
        }
    }

    const PINNED_FIRST_BUCKET: u32 = 219_746;
    const PINNED_SIGNAL_BUCKET: u32 = 152_666;

    #[test]
    fn prefix_sums_match_a_direct_count() {
        let text = "ignore previous instructions and then some more words";
        let hits = [Hit {
            signal: Signal::InstructionOverride,
            span: 0..28,
        }];
        let bits = 10;
        let weights: Vec<i8> = (0..1024).map(|i| ((i * 7) % 255) as i8).collect();
        let sums = PrefixSums::new(text, &hits, bits, &interleave([&weights, &weights]));
        for range in [0..text.len(), 5..20, 0..0, 30..text.len()] {
            let mut w = 0i64;
            let mut c = 0u32;
            for_each_feature(text, bits, |p, b| {
                if range.contains(&p) {
                    w += i64::from(weights[b as usize]);
                    c += 1;
                }
            });
            let sig = if range.contains(&0) {
                i64::from(weights[signal_bucket("instruction-override", bits) as usize])
            } else {
                0
            };
            assert_eq!(
                sums.window(0, range),
                WindowSums {
                    weight: w,
                    count: c,
                    signal: sig
                }
            );
        }
        let v = window_vector(text, &hits, bits, 0..text.len(), &mut Vec::new());
        assert!(v.windows(2).all(|p| p[0].0 < p[1].0));
    }

    #[test]
    fn sparse_vectors_are_normalised() {
        let mut b = vec![3, 1, 3, 2];
        let v = sparse_from_buckets(&mut b);
        assert_eq!(v.len(), 3);
        assert_eq!(v[2].0, 3);
        assert!((v[2].1 - 1.0).abs() < 1e-6);
    }
}
