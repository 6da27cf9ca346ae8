s = ""
for i in range(1, 100001):
    s = s + "item-%d," % i
print(len(s.split(",")))
