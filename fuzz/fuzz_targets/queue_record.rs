#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| longshore_fuzz_targets::queue_record(data));
