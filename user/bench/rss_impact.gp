# SPDX-License-Identifier: GPL-2.0 OR MIT
# RSS and throughput of the TTL cache over time, aligned against
# misaligned arena geometry. Called by run_bench.sh with
#   outdir, aligned, misaligned   (folder for the SVGs, the two CSVs)
# CSV columns: sec ops/s rss_MiB live flushes/s retires/s bound_MiB
set terminal svg size 860,440 dynamic font "sans,11"
set grid
set key top left
set xlabel "seconds"

set output outdir."/rss_impact_rss.svg"
set title "TTL cache RSS, 2 threads: aligned (65408 B generations, 320 B cache-aligned chunks) vs misaligned (65636 B, 300 B unaligned)"
set ylabel "MiB"
set yrange [0:*]
plot aligned using 1:3 with lines lw 2 title "aligned RSS", \
     misaligned using 1:3 with lines lw 2 title "misaligned RSS", \
     aligned using 1:7 with lines dt 2 title "aligned: live x entry + table", \
     misaligned using 1:7 with lines dt 2 title "misaligned: live x entry + table"

set output outdir."/rss_impact_ops.svg"
set title "TTL cache throughput, 2 threads (2 vCPUs on ~1 physical core, shared machine)"
set ylabel "M ops/s"
plot aligned using 1:($2/1e6) with lines lw 2 title "aligned", \
     misaligned using 1:($2/1e6) with lines lw 2 title "misaligned"
