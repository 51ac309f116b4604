# SPDX-License-Identifier: GPL-2.0 OR MIT
# RSS and throughput of the TTL cache over time, aligned against
# misaligned arena geometry. Called by run_bench.sh with
#   outdir, aligned, misaligned   (folder for the SVGs, the two CSVs)
set terminal svg size 800,420 dynamic font "sans,11"
set grid
set key top left
set xlabel "seconds"

set output outdir."/rss_impact_rss.svg"
set title "TTL cache RSS, 2 threads: 64 KiB-128 B generations / 320 B cache-aligned chunks vs 65636 B / 300 B unaligned"
set ylabel "RSS (MiB)"
set yrange [0:*]
plot aligned using 1:3 with lines lw 2 title "aligned", \
     misaligned using 1:3 with lines lw 2 title "misaligned"

set output outdir."/rss_impact_ops.svg"
set title "TTL cache throughput, 2 threads (2 vCPUs on ~1 physical core)"
set ylabel "M ops/s"
plot aligned using 1:($2/1e6) with lines lw 2 title "aligned", \
     misaligned using 1:($2/1e6) with lines lw 2 title "misaligned"
