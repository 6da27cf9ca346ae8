import sys, yaml
Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
text = open(sys.argv[1]).read()
n = 0
for i in range(100):
    n += len([d for d in yaml.load_all(text, Loader=Loader) if d is not None])
print(n)
