;; The vector cache's 1:N scan kernel (hamming-index.ts compiles it at load): Hamming distances between one
;; 512-bit query code and every stored code. The caller owns the memory layout and passes byte offsets.
(module
  (memory (export "memory") 1)

  ;; For each of the `count` 64-byte codes from `codes` on, writes its Hamming distance to the 64-byte code
  ;; at `query` as a u16 at `out` + 2i, and counts it in the histogram at `histogram` (513 u32 bins, one per
  ;; distance 0..512, cleared first): the caller reads there which distance keeps the nearest n codes.
  (func (export "scan")
    (param $query i32) (param $codes i32) (param $count i32) (param $out i32) (param $histogram i32)
    (local $q0 i64) (local $q1 i64) (local $q2 i64) (local $q3 i64)
    (local $q4 i64) (local $q5 i64) (local $q6 i64) (local $q7 i64)
    (local $end i32) (local $distance i32) (local $bin i32)
    (memory.fill (local.get $histogram) (i32.const 0) (i32.const 2052))
    (local.set $q0 (i64.load offset=0 (local.get $query)))
    (local.set $q1 (i64.load offset=8 (local.get $query)))
    (local.set $q2 (i64.load offset=16 (local.get $query)))
    (local.set $q3 (i64.load offset=24 (local.get $query)))
    (local.set $q4 (i64.load offset=32 (local.get $query)))
    (local.set $q5 (i64.load offset=40 (local.get $query)))
    (local.set $q6 (i64.load offset=48 (local.get $query)))
    (local.set $q7 (i64.load offset=56 (local.get $query)))
    (local.set $end (i32.add (local.get $codes) (i32.shl (local.get $count) (i32.const 6))))
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $codes) (local.get $end)))
        (local.set $distance
          (i32.wrap_i64
            (i64.add
              (i64.add
                (i64.add
                  (i64.popcnt (i64.xor (i64.load offset=0 (local.get $codes)) (local.get $q0)))
                  (i64.popcnt (i64.xor (i64.load offset=8 (local.get $codes)) (local.get $q1))))
                (i64.add
                  (i64.popcnt (i64.xor (i64.load offset=16 (local.get $codes)) (local.get $q2)))
                  (i64.popcnt (i64.xor (i64.load offset=24 (local.get $codes)) (local.get $q3)))))
              (i64.add
                (i64.add
                  (i64.popcnt (i64.xor (i64.load offset=32 (local.get $codes)) (local.get $q4)))
                  (i64.popcnt (i64.xor (i64.load offset=40 (local.get $codes)) (local.get $q5))))
                (i64.add
                  (i64.popcnt (i64.xor (i64.load offset=48 (local.get $codes)) (local.get $q6)))
                  (i64.popcnt (i64.xor (i64.load offset=56 (local.get $codes)) (local.get $q7))))))))
        (i32.store16 (local.get $out) (local.get $distance))
        (local.set $bin (i32.add (local.get $histogram) (i32.shl (local.get $distance) (i32.const 2))))
        (i32.store (local.get $bin) (i32.add (i32.load (local.get $bin)) (i32.const 1)))
        (local.set $codes (i32.add (local.get $codes) (i32.const 64)))
        (local.set $out (i32.add (local.get $out) (i32.const 2)))
        (br $next))))
)
