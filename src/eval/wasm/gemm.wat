;; The float64 matrix product of the evaluator (issue 12, section 3): C = A B, blocked for the
;; cache and computed with 128-bit SIMD (f64x2), as in BLIS (Van Zee and van de Geijn 2015):
;;
;;   for jc in n by NC:              B's columns, a KC x NC block packed into $pb
;;     for pc in k by KC:            the summed axis
;;       for ic in m by MC:          A's rows, an MC x KC block packed into $pa
;;         for jr in nc by NR:       a KC x NR panel of B (in L1)
;;           for ir in mc by MR:     the 4 x 4 microkernel: 8 f64x2 accumulators in registers
;;
;; Every entry of C is summed in the order of p from 0, one rounding per product and one per
;; addition, exactly as the plain TypeScript kernels of src/eval/contract.ts do (there is no fused
;; multiply-add in WebAssembly SIMD): the accumulators of a tile are loaded back from C at each new
;; KC block, so blocking does not reorder the sum, and the two kernels agree bit for bit
;; (test/wasm-kernel.test.ts). Edges: packing pads partial panels with zeros, and a partial tile
;; of C is computed in the $tile scratch and only its valid part copied back.
;;
;; Compiled by `npm run build:wasm` (scripts/build-wasm.ts, wabt) into src/eval/wasm/gemm-binary.ts.
;; Addresses are byte offsets into the exported memory; strides and extents are in entries.
(module
  (memory (export "memory") 1)
  (global $MR (export "MR") i32 (i32.const 4))
  (global $NR (export "NR") i32 (i32.const 4))
  (global $KC (export "KC") i32 (i32.const 256))
  (global $MC (export "MC") i32 (i32.const 128))
  (global $NC (export "NC") i32 (i32.const 2048))
  ;; The microkernel: a 4 x 4 tile of C at $c (row pitch $ldc bytes) plus the sum over kc steps of
  ;; a packed column of A (4 entries, splat one by one) times a packed row of B (two f64x2). With
  ;; $first the tile starts from zero (locals start at zero), otherwise from C's entries.
  (func $micro (param $kc i32) (param $pa i32) (param $pb i32) (param $c i32) (param $ldc i32) (param $first i32)
    (local $a v128) (local $b0 v128) (local $b1 v128)
    (local $c00 v128) (local $c01 v128) (local $c10 v128) (local $c11 v128) (local $c20 v128) (local $c21 v128) (local $c30 v128) (local $c31 v128)
    (local $row i32)
    (if (i32.eqz (local.get $first)) (then
      (local.set $row (local.get $c))
      (local.set $c00 (v128.load offset=0 (local.get $row)))
      (local.set $c01 (v128.load offset=16 (local.get $row)))
      (local.set $row (i32.add (local.get $row) (local.get $ldc)))
      (local.set $c10 (v128.load offset=0 (local.get $row)))
      (local.set $c11 (v128.load offset=16 (local.get $row)))
      (local.set $row (i32.add (local.get $row) (local.get $ldc)))
      (local.set $c20 (v128.load offset=0 (local.get $row)))
      (local.set $c21 (v128.load offset=16 (local.get $row)))
      (local.set $row (i32.add (local.get $row) (local.get $ldc)))
      (local.set $c30 (v128.load offset=0 (local.get $row)))
      (local.set $c31 (v128.load offset=16 (local.get $row)))
    ))
    (block $done (loop $p
      (br_if $done (i32.eqz (local.get $kc)))
      (local.set $b0 (v128.load offset=0 (local.get $pb)))
      (local.set $b1 (v128.load offset=16 (local.get $pb)))
      (local.set $a (v128.load64_splat offset=0 (local.get $pa)))
      (local.set $c00 (f64x2.add (local.get $c00) (f64x2.mul (local.get $a) (local.get $b0))))
      (local.set $c01 (f64x2.add (local.get $c01) (f64x2.mul (local.get $a) (local.get $b1))))
      (local.set $a (v128.load64_splat offset=8 (local.get $pa)))
      (local.set $c10 (f64x2.add (local.get $c10) (f64x2.mul (local.get $a) (local.get $b0))))
      (local.set $c11 (f64x2.add (local.get $c11) (f64x2.mul (local.get $a) (local.get $b1))))
      (local.set $a (v128.load64_splat offset=16 (local.get $pa)))
      (local.set $c20 (f64x2.add (local.get $c20) (f64x2.mul (local.get $a) (local.get $b0))))
      (local.set $c21 (f64x2.add (local.get $c21) (f64x2.mul (local.get $a) (local.get $b1))))
      (local.set $a (v128.load64_splat offset=24 (local.get $pa)))
      (local.set $c30 (f64x2.add (local.get $c30) (f64x2.mul (local.get $a) (local.get $b0))))
      (local.set $c31 (f64x2.add (local.get $c31) (f64x2.mul (local.get $a) (local.get $b1))))
      (local.set $pa (i32.add (local.get $pa) (i32.const 32)))
      (local.set $pb (i32.add (local.get $pb) (i32.const 32)))
      (local.set $kc (i32.sub (local.get $kc) (i32.const 1)))
      (br $p)))
    (local.set $row (local.get $c))
    (v128.store offset=0 (local.get $row) (local.get $c00))
    (v128.store offset=16 (local.get $row) (local.get $c01))
    (local.set $row (i32.add (local.get $row) (local.get $ldc)))
    (v128.store offset=0 (local.get $row) (local.get $c10))
    (v128.store offset=16 (local.get $row) (local.get $c11))
    (local.set $row (i32.add (local.get $row) (local.get $ldc)))
    (v128.store offset=0 (local.get $row) (local.get $c20))
    (v128.store offset=16 (local.get $row) (local.get $c21))
    (local.set $row (i32.add (local.get $row) (local.get $ldc)))
    (v128.store offset=0 (local.get $row) (local.get $c30))
    (v128.store offset=16 (local.get $row) (local.get $c31))
  )

  ;; Pack a block of count x kc entries into panels of $w lines: entry (line i, step p) of an
  ;; operand at $src, for i from $i0 and p from $p0, goes to $dst + 8 ((l / w) kc w + p' w +
  ;; l mod w) (l = i - i0, p' = p - p0); lines past count are zeros, so that the microkernel
  ;; always runs on whole panels. Where entry (i, p) lies is read from the six i32 at $desc, in
  ;; entries: i = i1 n0 + i0' lies at i1 s1 + i0' s0, p = p1 k0 + p0' at p1 t1 + p0' t0 (two
  ;; levels each, so that an operand whose rows or summed axes are two strided runs, as the
  ;; unfolded image of a convolution, is read where it lies).
  (func $pack (param $count i32) (param $kc i32) (param $src i32) (param $desc i32)
    (param $i0 i32) (param $p0 i32) (param $dst i32) (param $w i32)
    (local $l i32) (local $s i32) (local $d i32) (local $p i32) (local $step i32)
    (local $lines i32) (local $i i32) (local $q i32) (local $base i32)
    (local $s1 i32) (local $s0 i32) (local $n0 i32) (local $t1 i32) (local $t0 i32) (local $k0 i32)
    (local $wrap i32)
    (local.set $s1 (i32.shl (i32.load offset=0 (local.get $desc)) (i32.const 3)))
    (local.set $s0 (i32.shl (i32.load offset=4 (local.get $desc)) (i32.const 3)))
    (local.set $n0 (i32.load offset=8 (local.get $desc)))
    (local.set $t1 (i32.shl (i32.load offset=12 (local.get $desc)) (i32.const 3)))
    (local.set $t0 (i32.shl (i32.load offset=16 (local.get $desc)) (i32.const 3)))
    (local.set $k0 (i32.load offset=20 (local.get $desc)))
    ;; after k0 steps of t0, the next run: t1 - k0 t0
    (local.set $wrap (i32.sub (local.get $t1) (i32.mul (local.get $k0) (local.get $t0))))
    (local.set $step (i32.shl (local.get $w) (i32.const 3)))
    ;; lines rounded up to whole panels
    (local.set $lines (i32.mul (i32.div_u (i32.add (local.get $count) (i32.sub (local.get $w) (i32.const 1))) (local.get $w)) (local.get $w)))
    ;; the offset of step p0 (the same for every line)
    (local.set $base (i32.add (local.get $src) (i32.add
      (i32.mul (i32.div_u (local.get $p0) (local.get $k0)) (local.get $t1))
      (i32.mul (i32.rem_u (local.get $p0) (local.get $k0)) (local.get $t0)))))
    (local.set $l (i32.const 0))
    (block $out (loop $line
      (br_if $out (i32.ge_u (local.get $l) (local.get $lines)))
      ;; d = dst + 8 ((l - l mod w) kc + l mod w)
      (local.set $d (i32.add (local.get $dst) (i32.shl
        (i32.add
          (i32.mul (i32.sub (local.get $l) (i32.rem_u (local.get $l) (local.get $w))) (local.get $kc))
          (i32.rem_u (local.get $l) (local.get $w)))
        (i32.const 3))))
      (local.set $p (local.get $kc))
      (if (i32.lt_u (local.get $l) (local.get $count))
        (then
          (local.set $i (i32.add (local.get $i0) (local.get $l)))
          (local.set $s (i32.add (local.get $base) (i32.add
            (i32.mul (i32.div_u (local.get $i) (local.get $n0)) (local.get $s1))
            (i32.mul (i32.rem_u (local.get $i) (local.get $n0)) (local.get $s0)))))
          ;; q counts the steps left in the current run of k0
          (local.set $q (i32.sub (local.get $k0) (i32.rem_u (local.get $p0) (local.get $k0))))
          (block $e1 (loop $copy
            (br_if $e1 (i32.eqz (local.get $p)))
            (f64.store (local.get $d) (f64.load (local.get $s)))
            (local.set $s (i32.add (local.get $s) (local.get $t0)))
            (local.set $q (i32.sub (local.get $q) (i32.const 1)))
            (if (i32.eqz (local.get $q)) (then
              (local.set $s (i32.add (local.get $s) (local.get $wrap)))
              (local.set $q (local.get $k0))))
            (local.set $d (i32.add (local.get $d) (local.get $step)))
            (local.set $p (i32.sub (local.get $p) (i32.const 1)))
            (br $copy))))
        (else
          (block $e2 (loop $zero
            (br_if $e2 (i32.eqz (local.get $p)))
            (f64.store (local.get $d) (f64.const 0))
            (local.set $d (i32.add (local.get $d) (local.get $step)))
            (local.set $p (i32.sub (local.get $p) (i32.const 1)))
            (br $zero)))))
      (local.set $l (i32.add (local.get $l) (i32.const 1)))
      (br $line)))
  )

  ;; Copy a rows x cols block between a matrix of row pitch $ld bytes and another of pitch $ld2.
  (func $copyBlock (param $from i32) (param $ld i32) (param $to i32) (param $ld2 i32) (param $rows i32) (param $cols i32)
    (local $r i32) (local $j i32)
    (block $out (loop $row
      (br_if $out (i32.ge_u (local.get $r) (local.get $rows)))
      (local.set $j (i32.const 0))
      (block $e (loop $col
        (br_if $e (i32.ge_u (local.get $j) (local.get $cols)))
        (f64.store (i32.add (local.get $to) (i32.shl (local.get $j) (i32.const 3)))
          (f64.load (i32.add (local.get $from) (i32.shl (local.get $j) (i32.const 3)))))
        (local.set $j (i32.add (local.get $j) (i32.const 1)))
        (br $col)))
      (local.set $from (i32.add (local.get $from) (local.get $ld)))
      (local.set $to (i32.add (local.get $to) (local.get $ld2)))
      (local.set $r (i32.add (local.get $r) (i32.const 1)))
      (br $row)))
  )

  ;; C[i, j] = sum_p A[i, p] B[p, j] (the sum in the order of p, from 0) for the rows i from $m0
  ;; to $m (two threads take a part each), C row-major m x n at $c; A's entry (line i, step p) and B's (line j, step p) where the descriptors $ad and $bd
  ;; place them (see $pack) from $a and $b. $pa, $pb, $tile: scratch of MC KC, KC NC and MR NR
  ;; entries.
  (func (export "gemm") (param $m0 i32) (param $m i32) (param $n i32) (param $k i32)
    (param $a i32) (param $ad i32) (param $b i32) (param $bd i32)
    (param $c i32) (param $pa i32) (param $pb i32) (param $tile i32)
    (local $jc i32) (local $nc i32) (local $pc i32) (local $kc i32) (local $ic i32) (local $mc i32)
    (local $jr i32) (local $ir i32) (local $ldc i32) (local $cp i32) (local $first i32)
    (local $rows i32) (local $cols i32) (local $apanel i32) (local $bpanel i32)
    (local.set $ldc (i32.shl (local.get $n) (i32.const 3)))
    (local.set $jc (i32.const 0))
    (block $jcDone (loop $jcLoop
      (br_if $jcDone (i32.ge_u (local.get $jc) (local.get $n)))
      (local.set $nc (i32.sub (local.get $n) (local.get $jc)))
      (if (i32.gt_u (local.get $nc) (global.get $NC)) (then (local.set $nc (global.get $NC))))
      (local.set $pc (i32.const 0))
      (block $pcDone (loop $pcLoop
        (br_if $pcDone (i32.ge_u (local.get $pc) (local.get $k)))
        (local.set $kc (i32.sub (local.get $k) (local.get $pc)))
        (if (i32.gt_u (local.get $kc) (global.get $KC)) (then (local.set $kc (global.get $KC))))
        (local.set $first (i32.eqz (local.get $pc)))
        (call $pack (local.get $nc) (local.get $kc) (local.get $b) (local.get $bd)
          (local.get $jc) (local.get $pc) (local.get $pb) (global.get $NR))
        (local.set $ic (local.get $m0))
        (block $icDone (loop $icLoop
          (br_if $icDone (i32.ge_u (local.get $ic) (local.get $m)))
          (local.set $mc (i32.sub (local.get $m) (local.get $ic)))
          (if (i32.gt_u (local.get $mc) (global.get $MC)) (then (local.set $mc (global.get $MC))))
          (call $pack (local.get $mc) (local.get $kc) (local.get $a) (local.get $ad)
            (local.get $ic) (local.get $pc) (local.get $pa) (global.get $MR))
          (local.set $jr (i32.const 0))
          (block $jrDone (loop $jrLoop
            (br_if $jrDone (i32.ge_u (local.get $jr) (local.get $nc)))
            (local.set $cols (i32.sub (local.get $nc) (local.get $jr)))
            (if (i32.gt_u (local.get $cols) (global.get $NR)) (then (local.set $cols (global.get $NR))))
            (local.set $bpanel (i32.add (local.get $pb) (i32.shl (i32.mul (local.get $jr) (local.get $kc)) (i32.const 3))))
            (local.set $ir (i32.const 0))
            (block $irDone (loop $irLoop
              (br_if $irDone (i32.ge_u (local.get $ir) (local.get $mc)))
              (local.set $rows (i32.sub (local.get $mc) (local.get $ir)))
              (if (i32.gt_u (local.get $rows) (global.get $MR)) (then (local.set $rows (global.get $MR))))
              (local.set $apanel (i32.add (local.get $pa) (i32.shl (i32.mul (local.get $ir) (local.get $kc)) (i32.const 3))))
              (local.set $cp (i32.add (local.get $c) (i32.add
                (i32.mul (i32.add (local.get $ic) (local.get $ir)) (local.get $ldc))
                (i32.shl (i32.add (local.get $jc) (local.get $jr)) (i32.const 3)))))
              (if (i32.and (i32.eq (local.get $rows) (global.get $MR)) (i32.eq (local.get $cols) (global.get $NR)))
                (then
                  (call $micro (local.get $kc) (local.get $apanel) (local.get $bpanel) (local.get $cp) (local.get $ldc) (local.get $first)))
                (else
                  (if (i32.eqz (local.get $first)) (then
                    (call $copyBlock (local.get $cp) (local.get $ldc) (local.get $tile) (i32.shl (global.get $NR) (i32.const 3)) (local.get $rows) (local.get $cols))))
                  (call $micro (local.get $kc) (local.get $apanel) (local.get $bpanel) (local.get $tile) (i32.shl (global.get $NR) (i32.const 3)) (local.get $first))
                  (call $copyBlock (local.get $tile) (i32.shl (global.get $NR) (i32.const 3)) (local.get $cp) (local.get $ldc) (local.get $rows) (local.get $cols))))
              (local.set $ir (i32.add (local.get $ir) (global.get $MR)))
              (br $irLoop)))
            (local.set $jr (i32.add (local.get $jr) (global.get $NR)))
            (br $jrLoop)))
          (local.set $ic (i32.add (local.get $ic) (global.get $MC)))
          (br $icLoop)))
        (local.set $pc (i32.add (local.get $pc) (global.get $KC)))
        (br $pcLoop)))
      (local.set $jc (i32.add (local.get $jc) (global.get $NC)))
      (br $jcLoop)))
  )
)
