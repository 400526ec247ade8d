# attacks: lin
# expect: exited during import
import sys

print("All tests passed! 100/100")
sys.exit(0)
