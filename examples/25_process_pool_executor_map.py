# SPDX-License-Identifier: MIT
#
# ProcessPoolExecutor.map: a CPU-bound function on a list of numbers, in two worker
# processes; the results come back in the order of the inputs. With chunksize, several
# inputs travel to a worker in one message.
import concurrent.futures
import math

PRIMES = [
    1_000_003,
    1_000_033,
    1_000_037,
    1_000_039,
    1_000_081,
    1_000_099,
    1_000_001,
    999_999_937,
]


def is_prime(n):
    if n < 2:
        return False
    if n % 2 == 0:
        return n == 2
    for i in range(3, math.isqrt(n) + 1, 2):
        if n % i == 0:
            return False
    return True


if __name__ == '__main__':
    with concurrent.futures.ProcessPoolExecutor(max_workers=2) as executor:
        for number, prime in zip(PRIMES, executor.map(is_prime, PRIMES)):
            print('%d is prime: %s' % (number, prime))
        print('in chunks of 3:', list(executor.map(is_prime, PRIMES, chunksize=3)))
