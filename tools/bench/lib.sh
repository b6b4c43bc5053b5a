# SPDX-License-Identifier: GPL-2.0-only
#
# Shell helpers of the benchmarks run in the VM (tools/bench/*.sh; source
# it).  $QKTLS_BENCH_OUT is where figures go (tools/bench/guest sets it).

bench_top=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
bench_bin=$bench_top/build/bin
bench_out=${QKTLS_BENCH_OUT:-$bench_top/build/bench}

# bench_netns A B ADDR_A ADDR_B: network namespaces A and B with lo up,
# joined by a veth pair (ADDR_A/24 in A, ADDR_B/24 in B).
bench_netns() {
	ip netns add "$1" && ip netns add "$2" &&
	ip -n "$1" link set lo up && ip -n "$2" link set lo up &&
	ip link add "$1-v" netns "$1" type veth peer name "$2-v" netns "$2" &&
	ip -n "$1" addr add "$3/24" dev "$1-v" && ip -n "$1" link set "$1-v" up &&
	ip -n "$2" addr add "$4/24" dev "$2-v" && ip -n "$2" link set "$2-v" up
}

# bench_plot SVG TITLE YLABEL DATA N: a clustered bar chart of DATA (a
# whitespace-separated table: a header row naming the N series, in double
# quotes when they hold blanks, then one row per group, its label first)
# into SVG, with gnuplot.
bench_plot() {
	local svg=$1 title=$2 ylabel=$3 data=$4 n=$(($5 + 1))
	gnuplot <<EOT
set terminal svg size 900,480 dynamic enhanced font "sans,11" background "white"
set output "$svg"
set title "$title" noenhanced
set ylabel "$ylabel"
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.8 border -1
set key outside right top noenhanced
set bmargin 6
set xtics rotate by -20 noenhanced
set yrange [0:*]
set grid ytics
plot for [i=2:$n] "$data" using i:xtic(1) title columnheader(i)
EOT
}
