//! restic's content-defined chunking, fast.
//!
//! A restic repository cuts files where the Rabin fingerprint of the last 64 bytes, modulo the
//! repository's chunker polynomial, has its low bits zero (average chunk 1 MiB, at least 512 KiB,
//! at most 8 MiB). Deduplication works only if every backup cuts the same bytes at the same places,
//! so this crate's boundaries are exactly rustic_core 0.13's (which are restic's; the test suite of
//! mamori-backup checks that the real `restic` program adds no data for files mamori stored).
//!
//! rustic_core slides the fingerprint one byte at a time in one chain: each step waits for the
//! previous step's table look-up, ~9 cycles a byte. But the fingerprint at a position depends only
//! on the 64 bytes before it, so a stretch of data can be split into lanes that are scanned at once:
//! each lane starts 64 bytes early to fill its window, and the lanes' independent chains run in
//! parallel in one core. The earliest cut of the earliest lane wins; a lane past it is wasted work,
//! bounded by one block.
//!
//! One quirk is kept on purpose: at the minimum size rustic fills the window with 63 of the last 64
//! bytes (the byte just before the minimum is never fed in), and the following 64 positions carry
//! that. Those positions are computed with rustic_cdc's own `Rabin64`, exactly as rustic does.

use std::io::{self, Read};
use std::sync::{Arc, Mutex};

use rustic_cdc::{Polynom, Rabin64, RollingHash64};

/// The fingerprint window in bytes (restic's and rustic's: 64).
pub const WINDOW: usize = 64;
/// Window size as rustic_cdc's bit count.
const WINDOW_BITS: u32 = 6;
/// Lanes scanned at once. Four independent chains hide the table look-up's latency on current x86
/// cores; eight were slower (examples/bench_chunk on this machine's EPYC: 1,490 against 1,690 MB/s).
const LANES: usize = 4;
/// Positions scanned per lane per block. The block is what is read ahead and, past a cut, wasted.
const LANE_LEN: usize = 16 * 1024;
/// Below this many positions a stretch is scanned in one chain.
const MIN_LANED: usize = LANES * 1024;

/// The two 256-entry tables of a polynomial: what a byte leaving the window takes out, and the
/// reduction of the byte shifted out at the top.
#[derive(Clone)]
pub struct Tables {
    out: [u64; 256],
    reduce: [u64; 256],
    shift: u32,
}

impl Tables {
    /// Tables for a chunker polynomial (a repository's `chunker_polynomial`).
    pub fn new(poly: u64) -> Self {
        Self {
            out: Rabin64::calculate_out_table(WINDOW, &poly),
            reduce: Rabin64::calculate_mod_table(&poly),
            shift: (poly.degree() - 8) as u32,
        }
    }

    #[inline(always)]
    fn append(&self, h: u64, b: u8) -> u64 {
        ((h << 8) | u64::from(b)) ^ self.reduce[((h >> self.shift) & 255) as usize]
    }

    #[inline(always)]
    fn roll(&self, h: u64, out: u8, b: u8) -> u64 {
        self.append(h ^ self.out[out as usize], b)
    }

    /// The fingerprint of `window` (the bytes in order, oldest first; at most `WINDOW`).
    pub fn fingerprint(&self, window: &[u8]) -> u64 {
        window.iter().fold(0, |h, &b| self.append(h, b))
    }

    /// The first position `p` in `from..to` whose window `data[p-64..p]` has a fingerprint with
    /// `fp & mask == 0`. Requires `from >= WINDOW` and `to <= data.len()`.
    pub fn first_cut(&self, data: &[u8], from: usize, to: usize, mask: u64) -> Option<usize> {
        assert!(from >= WINDOW && to <= data.len(), "first_cut: window out of the data");
        if from >= to {
            return None;
        }
        if to - from < MIN_LANED {
            return self.first_cut_chain(data, from, to, mask);
        }
        let lane = (to - from) / LANES;
        let starts: [usize; LANES] = std::array::from_fn(|i| from + i * lane);
        let mut h = [0u64; LANES];
        for k in 0..WINDOW {
            for i in 0..LANES {
                h[i] = self.append(h[i], data[starts[i] - WINDOW + k]);
            }
        }
        // Each lane's bytes entering and leaving the window, as slices of exactly `lane` bytes
        // (so the loop below needs no bounds checks).
        let ins: [&[u8]; LANES] = std::array::from_fn(|i| &data[starts[i]..starts[i] + lane]);
        let outs: [&[u8]; LANES] = std::array::from_fn(|i| &data[starts[i] - WINDOW..starts[i] - WINDOW + lane]);
        let mut hit = [usize::MAX; LANES];
        for j in 0..lane {
            let mut any = false;
            for i in 0..LANES {
                any |= h[i] & mask == 0;
            }
            if any {
                for i in 0..LANES {
                    if h[i] & mask == 0 && hit[i] == usize::MAX {
                        hit[i] = starts[i] + j;
                    }
                }
                // Lane 0 holds the earliest positions: once it has cut, nothing can come first.
                if hit[0] != usize::MAX {
                    return Some(hit[0]);
                }
            }
            for i in 0..LANES {
                h[i] = self.roll(h[i], outs[i][j], ins[i][j]);
            }
        }
        if let Some(&p) = hit.iter().find(|&&p| p != usize::MAX) {
            return Some(p);
        }
        // The remainder past the last lane's share (fewer than LANES positions).
        self.first_cut_chain(data, from + LANES * lane, to, mask)
    }

    fn first_cut_chain(&self, data: &[u8], from: usize, to: usize, mask: u64) -> Option<usize> {
        let mut h = self.fingerprint(&data[from - WINDOW..from]);
        for p in from..to {
            if h & mask == 0 {
                return Some(p);
            }
            h = self.roll(h, data[p - WINDOW], data[p]);
        }
        None
    }
}

/// A polynomial's tables, computed once per process: building them takes ~0.5 ms (256 × 63
/// polynomial reductions), which rustic_core paid for every file, most of the CPU of a backup of many
/// small files.
struct Prepared {
    tables: Tables,
    rabin: Rabin64,
}

fn prepared(poly: u64) -> Arc<Prepared> {
    static CACHE: Mutex<Vec<(u64, Arc<Prepared>)>> = Mutex::new(Vec::new());
    let mut cache = CACHE.lock().unwrap_or_else(|e| e.into_inner());
    if let Some((_, p)) = cache.iter().find(|(q, _)| *q == poly) {
        return p.clone();
    }
    let p = Arc::new(Prepared { tables: Tables::new(poly), rabin: Rabin64::new_with_polynom(WINDOW_BITS, &poly) });
    // One polynomial per repository; a process rarely sees more than a couple.
    if cache.len() >= 8 {
        cache.remove(0);
    }
    cache.push((poly, p.clone()));
    p
}

/// Chunks a reader like rustic_core 0.13's Rabin `ChunkIter` (same boundaries, same chunks).
pub struct RabinChunker<R: Read> {
    reader: R,
    prepared: Arc<Prepared>,
    rabin: Rabin64,
    split_mask: u64,
    min_size: usize,
    max_size: usize,
    size_hint: usize,
    /// Bytes read past the last cut: the start of the next chunk.
    carry: Vec<u8>,
    eof: bool,
    finished: bool,
}

impl<R: Read> RabinChunker<R> {
    /// `chunk_size` (the average, a power of two), `min_size` (at least `WINDOW`) and `max_size`
    /// as in the repository config; `size_hint` an upper bound on the data (for allocation only).
    pub fn new(poly: u64, chunk_size: usize, min_size: usize, max_size: usize, reader: R, size_hint: usize) -> Self {
        assert!(chunk_size.is_power_of_two(), "chunk size {chunk_size} is not a power of two");
        assert!(
            WINDOW <= min_size && min_size <= chunk_size && chunk_size <= max_size,
            "chunk sizes must satisfy {WINDOW} <= min {min_size} <= average {chunk_size} <= max {max_size}"
        );
        let prepared = prepared(poly);
        Self {
            reader,
            rabin: prepared.rabin.clone(),
            prepared,
            split_mask: chunk_size as u64 - 1,
            min_size,
            max_size,
            size_hint,
            carry: Vec::new(),
            eof: false,
            finished: false,
        }
    }

    /// Reads until `vec` holds `want` bytes or the reader ends.
    fn fill(&mut self, vec: &mut Vec<u8>, want: usize) -> io::Result<()> {
        if vec.len() < want && !self.eof {
            let need = (want - vec.len()) as u64;
            let got = (&mut self.reader).take(need).read_to_end(vec)?;
            if (got as u64) < need {
                self.eof = true;
            }
        }
        Ok(())
    }

    /// Ends the chunk at `p`: what lies past it is kept for the next chunk.
    fn cut(&mut self, mut vec: Vec<u8>, p: usize) -> Vec<u8> {
        if p < vec.len() {
            self.carry.clear();
            self.carry.extend_from_slice(&vec[p..]);
            vec.truncate(p);
        } else if self.eof {
            self.finished = true;
        }
        self.size_hint = self.size_hint.saturating_sub(vec.len());
        vec
    }

    fn next_chunk(&mut self) -> io::Result<Option<Vec<u8>>> {
        if self.finished {
            return Ok(None);
        }
        let min = self.min_size;
        let mut vec = Vec::with_capacity(self.size_hint.min(min).max(self.carry.len()));
        vec.extend_from_slice(&self.carry);
        self.carry.clear();
        // One read up to the end of the positions checked one by one below (the carry may already
        // reach past them with small sizes, never with restic's).
        let exact_end = (min + WINDOW).min(self.max_size);
        self.fill(&mut vec, exact_end)?;
        if vec.len() < min {
            // The reader ended before the minimum size: the rest is the last chunk.
            self.finished = true;
            return Ok((!vec.is_empty()).then_some(vec));
        }

        // Positions min .. min+64: rustic's own sliding, window quirk included.
        self.rabin.reset_and_prefill_window(&mut vec[min - WINDOW..min].iter().copied());
        let mut p = min;
        while p < exact_end {
            if self.rabin.hash & self.split_mask == 0 || p == vec.len() {
                return Ok(Some(self.cut(vec, p)));
            }
            self.rabin.slide(vec[p]);
            p += 1;
        }
        if p >= self.max_size || p == vec.len() && self.eof {
            return Ok(Some(self.cut(vec, p)));
        }
        // From here each position's fingerprint is that of the 64 bytes before it.
        loop {
            let end = (p + LANES * LANE_LEN).min(self.max_size);
            self.fill(&mut vec, end)?;
            let to = end.min(vec.len());
            if let Some(c) = self.prepared.tables.first_cut(&vec, p, to, self.split_mask) {
                return Ok(Some(self.cut(vec, c)));
            }
            if to >= self.max_size || self.eof {
                return Ok(Some(self.cut(vec, to)));
            }
            p = to;
        }
    }
}

impl<R: Read> Iterator for RabinChunker<R> {
    type Item = io::Result<Vec<u8>>;

    fn next(&mut self) -> Option<Self::Item> {
        match self.next_chunk() {
            Ok(v) => v.map(Ok),
            Err(e) => {
                self.finished = true;
                Some(Err(e))
            }
        }
    }
}

/// The chunk lengths rustic_core 0.13's chunker produces for `data`, computed its way: one byte at a
/// time on rustic_cdc's `Rabin64` (read the minimum size, fill the window from the 64 bytes before it,
/// of which 63 are fed in, then check and slide until a cut, the maximum or the end). Slow; the
/// yardstick of the tests and the benchmark.
pub fn reference_cut_lengths(
    poly: u64,
    chunk_size: usize,
    min_size: usize,
    max_size: usize,
    data: &[u8],
) -> Vec<usize> {
    let mask = chunk_size as u64 - 1;
    let mut rabin = Rabin64::new_with_polynom(WINDOW_BITS, &poly);
    let mut lengths = Vec::new();
    let mut pos = 0;
    while data.len() - pos >= min_size {
        let start = pos;
        pos += min_size;
        rabin.reset_and_prefill_window(&mut data[pos - WINDOW..pos].iter().copied());
        while pos - start < max_size && rabin.hash & mask != 0 && pos < data.len() {
            rabin.slide(data[pos]);
            pos += 1;
        }
        lengths.push(pos - start);
    }
    if pos < data.len() {
        lengths.push(data.len() - pos);
    }
    lengths
}
