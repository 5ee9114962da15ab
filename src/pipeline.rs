//! Orders models so that each comes after the models it reads, and finds cycles; pure graph code.

/// Models by index; `reads[i]` lists the models model `i` reads.
pub struct Graph {
    pub reads: Vec<Vec<usize>>,
}

#[derive(Clone, Copy, PartialEq)]
enum Mark {
    New,
    Open,
    Done,
}

impl Graph {
    /// All models, each after the models it reads; a cycle comes back as the models on it, in reading order.
    pub fn order(&self) -> Result<Vec<usize>, Vec<usize>> {
        self.order_from(&(0..self.reads.len()).collect::<Vec<_>>())
    }

    /// `roots` and everything they read, transitively, each after the models it reads.
    pub fn order_from(&self, roots: &[usize]) -> Result<Vec<usize>, Vec<usize>> {
        let mut marks = vec![Mark::New; self.reads.len()];
        let mut out = Vec::new();
        let mut path = Vec::new();
        for &root in roots {
            self.visit(root, &mut marks, &mut path, &mut out)?;
        }
        Ok(out)
    }

    fn visit(
        &self,
        node: usize,
        marks: &mut [Mark],
        path: &mut Vec<usize>,
        out: &mut Vec<usize>,
    ) -> Result<(), Vec<usize>> {
        match marks[node] {
            Mark::Done => return Ok(()),
            Mark::Open => {
                let start = path.iter().position(|&n| n == node).unwrap_or(0);
                let mut cycle = path[start..].to_vec();
                cycle.push(node);
                return Err(cycle);
            }
            Mark::New => {}
        }
        marks[node] = Mark::Open;
        path.push(node);
        for &dep in &self.reads[node] {
            self.visit(dep, marks, path, out)?;
        }
        path.pop();
        marks[node] = Mark::Done;
        out.push(node);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::Graph;

    #[test]
    fn orders_a_chain_and_a_diamond() {
        // 0 reads 1, 1 reads 2; 3 reads 0 and 2
        let g = Graph { reads: vec![vec![1], vec![2], vec![], vec![0, 2]] };
        assert_eq!(g.order().unwrap(), vec![2, 1, 0, 3]);
        assert_eq!(g.order_from(&[1]).unwrap(), vec![2, 1]);
    }

    #[test]
    fn names_the_cycle() {
        let g = Graph { reads: vec![vec![1], vec![2], vec![0], vec![]] };
        assert_eq!(g.order().unwrap_err(), vec![0, 1, 2, 0]);
        assert_eq!(g.order_from(&[3]).unwrap(), vec![3]);
    }
}
