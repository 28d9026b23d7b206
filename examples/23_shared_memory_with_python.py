# SPDX-License-Identifier: MIT
#
# One block of shared memory, two programs: this one creates it and writes a greeting, a
# Python process attaches it by name and turns the greeting to upper case, this one reads it.
import subprocess
import sys
from multiprocessing import shared_memory

# The child: attaches the block by the name it is given. Its creator unlinks it, so the child
# takes it off its own resource tracker (Python 3.13: SharedMemory(name, track=False)).
CHILD = '''
import sys
from multiprocessing import resource_tracker, shared_memory
shm = shared_memory.SharedMemory(sys.argv[1])
resource_tracker.unregister(shm._name, 'shared_memory')
shm.buf[:5] = bytes(shm.buf[:5]).upper()
shm.close()
'''

if __name__ == '__main__':
    shm = shared_memory.SharedMemory(create=True, size=16)
    shm.buf[:5] = b'hello'
    print('shared memory of', shm.size, 'bytes')
    print('parent wrote:', bytes(shm.buf[:5]).decode())
    child = subprocess.run([sys.executable, '-c', CHILD, shm.name])
    print('child exit code:', child.returncode)
    print('parent reads:', bytes(shm.buf[:5]).decode())
    shm.close()
    shm.unlink()
