xs = []
for i in range(1, 100001):
    xs.append(i * 2)
m = {}
for i in range(1, 100001):
    m["k%d" % i] = i
print(len(xs), len(m))
