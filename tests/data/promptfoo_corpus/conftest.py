# The corpus is test data (promptfoo's own examples), not tests: pytest collects none of its
# Python files (examples/python-test-cases/test_cases.py would otherwise be taken for a test module).
collect_ignore_glob = ["*"]
