set s 0
for {set i 1} {$i <= 1000000} {incr i} { set s [expr {$s + $i % 7}] }
puts $s
