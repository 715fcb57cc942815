//go:build !unix

package render

import "github.com/tetratelabs/wazero/experimental"

// memoryAllocator is wazero's default (a growing slice) off Unix.
func memoryAllocator() experimental.MemoryAllocator { return nil }
