//! The streaming-read limit that the benchmarks and the `bandwidth`
//! example set beside the value of TV, written once for both.

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
