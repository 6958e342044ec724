"""Shared by the test scripts: one line per case, and the tally.

    from results import report, finish
    report("title", problems)   # 'ok   title' or 'FAIL title: ...'
    sys.exit(finish())          # 'N passed, N failed'; 0, or 1 on any
"""
RESULTS = []


def report(title, problems):
    RESULTS.append(not problems)
    print(f"{'FAIL' if problems else 'ok  '} {title}"
          + (": " + "; ".join(problems[:4]) if problems else ""))
    return not problems


def finish():
    passed = sum(RESULTS)
    print(f"{passed} passed, {len(RESULTS) - passed} failed")
    return 0 if passed == len(RESULTS) else 1
