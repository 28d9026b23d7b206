# SPDX-License-Identifier: MIT
import concurrent.futures
import time


def square(n):
    time.sleep(0.01 * (6 - n))  # the later inputs tend to finish first
    if n == 3:
        raise ValueError(f'cannot square {n}')
    return n * n


if __name__ == '__main__':
    results = {}
    with concurrent.futures.ThreadPoolExecutor(max_workers=3) as executor:
        future_to_n = {executor.submit(square, n): n for n in range(6)}
        # as_completed yields each future as soon as it is done, whatever the input order
        for future in concurrent.futures.as_completed(future_to_n):
            n = future_to_n[future]
            try:
                result = future.result()
            except ValueError as exc:
                print(n, 'raised ValueError:', exc)
            else:
                results[n] = result
                print(n, 'squared is', result)
    # leaving the with block waited for the pool: every future is done
    print('all done:', all(future.done() for future in future_to_n))
    print('succeeded:', len(results), 'of', len(future_to_n))
    print('results by input:', [results[n] for n in sorted(results)])
