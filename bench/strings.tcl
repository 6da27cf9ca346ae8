set s ""
for {set i 1} {$i <= 100000} {incr i} { append s "item-$i," }
puts [llength [split $s ","]]
