# Call 5 on the same machine: wait for driver4.sh's curves (DONE2), return /tmp/r as one tar.
s=$(date +%s); o=/tmp/r
while [ $(( $(date +%s)-s )) -lt 580 ] && [ ! -f $o/DONE2 ]; do sleep 3; done
tar -C /tmp -cf $OUT/r.tar r; cat $o/machine.txt
for f in $o/curve_*.json; do echo "$f"; python3 -c "import json,sys; d=json.load(open('$f')); print(d['status'], d['final_val_perplexity'], d['steady_tokens_per_second'], repr(d['engine_note']))" 2>&1 | tail -1; done
