//! What the benchmarks and the `bandwidth` and `time_calls` examples
//! share, written once for all: their pixels, and the streaming-read
//! limit that they set beside the value of TV.

/// Deterministic pixels in [0, 1] (as `T` by `convert`): a fixed
/// xorshift sequence, the same for every caller.
pub fn pixels<T>(len: usize, convert: impl Fn(f64) -> T) -> Vec<T> {
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    (0..len)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            convert((state >> 11) as f64 / (1u64 << 53) as f64)
        })
        .collect()
}

/// A sum of the buffer with many independent lanes: the streaming-read
/// limit. Compiled for AVX2 where the CPU has it, like the TV kernels.
pub fn streaming_sum(values: &[f32]) -> f32 {
    fn lanes(values: &[f32]) -> f32 {
        let mut acc = [0.0f32; 32];
        let chunks = values.chunks_exact(32);
        let tail: f32 = chunks.remainder().iter().sum();
        for chunk in chunks {
            for (a, v) in acc.iter_mut().zip(chunk) {
                *a += v;
            }
        }
        acc.iter().sum::<f32>() + tail
    }
    #[cfg(target_arch = "x86_64")]
    {
        #[target_feature(enable = "avx2")]
        fn lanes_avx2(values: &[f32]) -> f32 {
            lanes(values)
        }
        if std::is_x86_feature_detected!("avx2") {
            // SAFETY: AVX2 was detected just above.
            return unsafe { lanes_avx2(values) };
        }
    }
    lanes(values)
}
