//! Readers never panic: random bytes and random mutations of valid files either parse
//! or give an error.

use checkers::edn;
use checkers::formats::{Format, read_str};
use proptest::prelude::*;

const FORMATS: [Format; 6] = [
    Format::Auto,
    Format::Jsonl,
    Format::Edn,
    Format::JepsenLog,
    Format::PorcupineKv,
    Format::ElleJson,
];

const SEEDS: [&str; 8] = [
    "{\"process\":0,\"type\":\"invoke\",\"f\":\"write\",\"key\":\"x\",\"value\":5,\"time\":1}\n{\"process\":0,\"type\":\"ok\",\"f\":\"write\",\"key\":\"x\",\"value\":5}\n",
    "INFO  jepsen.util - 0\t:invoke\t:cas\t[1 2]\nINFO  jepsen.util - 0\t:info\t:cas\t:timed-out\n",
    "{:process 9, :type :invoke, :f :append, :key \"0\", :value \"x 9 0 y\"}\n{:process 9, :type :ok, :f :append, :key \"0\", :value \"x 9 0 y\"}\n",
    "[{:type :invoke, :f :cas, :value [3 [1 2]], :process 0} {:type :ok, :f :cas, :value [3 [1 2]], :process 0}]",
    "[{\"process\":0,\"type\":\"invoke\",\"f\":\"txn\",\"value\":[[\"append\",\"x\",1]]}]",
    "; a comment\n{:index 0, :type :invoke, :process 1, :f :txn, :value [[:append 9 2] [:r 8 nil]]}\n{:index 1, :type :ok, :process 1, :f :txn, :value [[:append 9 2] [:r 8 [1 2]]], :final? true}\n",
    "{:index 0 :type :invoke :value [[:append 253 1] [:r 255 nil]]}\n{:index 1 :type :ok :value [[:append 253 1] [:r 255 [2 3]]]}\n",
    "{:type :invoke, :f :write, :value #jepsen.independent/tuple [5N \"\\u00e9\\n\"], :process 0, :time 1.5M, :x #{\\a \\newline 1/2 ##Inf}}\n#_ {:skip 1}",
];

fn exercise(text: &str) {
    for format in FORMATS {
        if let Ok(history) = read_str(text, format, "fuzz") {
            let _ = history.operations("fuzz");
        }
        let _ = checkers::elle::read::read_str(text, format, "fuzz");
    }
    let _ = edn::items(text).count();
}

#[test]
fn the_seeds_are_valid_histories() {
    for seed in SEEDS {
        let read = checkers::elle::read::read_str(seed, Format::Auto, "seed");
        assert!(read.is_ok(), "{seed}: {read:?}");
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(500))]

    #[test]
    fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
        exercise(&String::from_utf8_lossy(&bytes));
    }

    #[test]
    fn random_edn_never_panics(text in "[ ,\\n;#_{}()\\[\\]\"\\\\:a-z0-9+./NM^@~'é😀-]{0,120}") {
        exercise(&text);
    }

    #[test]
    fn mutated_valid_files_never_panic(
        seed in 0..SEEDS.len(),
        edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>(), 0u8..3), 1..6),
    ) {
        let mut bytes = SEEDS[seed].as_bytes().to_vec();
        for (at, byte, op) in edits {
            if bytes.is_empty() { break; }
            let i = at.index(bytes.len());
            match op {
                0 => bytes[i] = byte,
                1 => { bytes.remove(i); }
                _ => bytes.truncate(i),
            }
        }
        exercise(&String::from_utf8_lossy(&bytes));
    }
}
