set xs {}
for {set i 1} {$i <= 100000} {incr i} { lappend xs [expr {$i * 2}] }
set m [dict create]
for {set i 1} {$i <= 100000} {incr i} { dict set m "k$i" $i }
puts "[llength $xs] [dict size $m]"
